"""Imports inside dashboards_live point down the layers (DESIGN.md, "Layers"), and never in a cycle.

Every import counts, the ones inside functions included: a lazy import upward
is still an upward dependency.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import dashboards_live

PACKAGE = Path(__file__).resolve().parents[1] / "dashboards_live"

# lowest first; a module may import its own layer or lower ones. A module is
# named by its path inside the package; a name stands for itself and what is under it.
LAYERS: list[tuple[str, set[str]]] = [
    ("event contract", {"contract", "errors", "clock"}),
    (
        "components, encoding, channels, settings",
        {
            "declaring.components",
            "publishing.encoding",
            "web.channels",
            "conf",
            "running.systemd",
            "running.pushpinstats",
        },
    ),
    (
        "transport, storage, feed declarations",
        {
            "publishing.transport",
            "publishing.storage",
            "migrations",
            "models",
            "declaring.feeds",
            "web.pushpin",
            "web.pushpinsupervisor",
            "running.ha",
            "running.viewers",
        },
    ),
    ("delivery engine", {"publishing.delivery"}),
    (
        "scheduler, dashboards, one-off publishing",
        {
            "running.loop",
            "declaring.dashboards",
            "declaring.demo",
            "publishing.oneoff",
            "publishing.push",
            "web.revocation",
        },
    ),
    (
        "service wiring, views, checks",
        {
            "running.runner",
            "running.status",
            "running.metrics",
            "running.statsreader",
            "web.pages",
            "web.resume",
            "web.views",
            "web.streams",
            "web.wsgi",
            "web.checks",
            "apps",
            "urls",
            "templatetags",
            # integrations: pages and components for another library, built on the views' layer
            "contrib.django_dashboards",
        },
    ),
    ("commands", {"management"}),
]
LAYER_OF = {module: index for index, (_, modules) in enumerate(LAYERS) for module in modules}
# sub-packages whose __init__ only names the path; they belong to no layer
PACKAGES = {"declaring", "publishing", "running", "web", "contrib"}
EXPORTS: dict[str, str] = dashboards_live._EXPORTS


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE).with_suffix("").parts
    return ".".join(p for p in parts if p != "__init__") or "__init__"


def top(module: str) -> str:
    """The name in LAYERS that `module` falls under (itself or the package holding it)."""
    parts = module.split(".")
    for end in range(len(parts), 0, -1):
        name = ".".join(parts[:end])
        if name in LAYER_OF or name in PACKAGES:
            return name
    return module


def imports_of(path: Path) -> set[str]:
    """The dashboards_live modules `path` imports (as names inside the package)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            if node.module == "dashboards_live":
                # the package's public names stand for the modules that define them
                found |= {EXPORTS.get(alias.name, alias.name) for alias in node.names}
            elif node.module in {f"dashboards_live.{p}" for p in PACKAGES}:
                package = node.module.removeprefix("dashboards_live.")
                found |= {f"{package}.{alias.name}" for alias in node.names}
            elif node.module.startswith("dashboards_live."):
                found.add(node.module.removeprefix("dashboards_live."))
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.startswith("dashboards_live."):
                    found.add(alias.name.removeprefix("dashboards_live."))
    return found


def graph() -> dict[str, set[str]]:
    return {module_name(p): imports_of(p) for p in sorted(PACKAGE.rglob("*.py"))}


def test_every_module_has_a_layer() -> None:
    missing = sorted({top(m) for m in graph()} - set(LAYER_OF) - PACKAGES - {"__init__"})
    assert missing == [], f"give these modules a layer in tests/test_layers.py: {missing}"


def test_no_module_imports_a_higher_layer() -> None:
    upward = []
    for module, imported in graph().items():
        if module == "__init__" or module in PACKAGES:
            continue
        for target in imported:
            if LAYER_OF[top(target)] > LAYER_OF[top(module)]:
                upward.append(
                    f"{module} ({LAYERS[LAYER_OF[top(module)]][0]}) imports {target} "
                    f"({LAYERS[LAYER_OF[top(target)]][0]})"
                )
    assert upward == []


def test_there_is_no_import_cycle() -> None:
    edges: dict[str, set[str]] = {top(m): set() for m in graph()}
    for module, imported in graph().items():
        edges[top(module)] |= {top(t) for t in imported if top(t) != top(module)}
    state: dict[str, int] = {}  # 1 visiting, 2 done

    def visit(node: str, path: list[str]) -> None:
        state[node] = 1
        for nxt in sorted(edges.get(node, ())):
            if state.get(nxt) == 1:
                pytest.fail("import cycle: " + " -> ".join([*path, node, nxt][path.index(nxt) if nxt in path else 0 :]))
            if nxt not in state:
                visit(nxt, [*path, node])
        state[node] = 2

    for node in sorted(edges):
        if node not in state:
            visit(node, [])


def test_the_walker_sees_lazy_imports(tmp_path: Path) -> None:
    source = tmp_path / "x.py"
    source.write_text(
        "def f():\n    from dashboards_live.running.loop import EventLoop\nimport dashboards_live.contract\n"
    )
    assert imports_of(source) == {"running.loop", "contract"}


def test_the_contract_imports_nothing_of_the_app() -> None:
    assert imports_of(PACKAGE / "contract.py") == set()
