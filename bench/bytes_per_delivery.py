"""Bytes every viewer receives per event, for each component kind: an older revision beside this tree.

The issue's goal: a 60-point, 2-series Chart event is at most 1.5 KB on the
wire. What a viewer receives for one event is the SSE frame Pushpin hands it
(`event:`, `id:`, one `data:` line per line of the fragment), as
publishing.encoding.sse_frame builds it; every viewer of the channel receives
the same bytes, so the figure times the viewers is the egress.

The same values are rendered by each side, in a child process each, with that
side's `dashboards_live` and `config` on sys.path: this tree, and the revision
given with --before (default 847bc70, the code before the chart rework),
extracted with `git archive` into a temporary folder that is removed after.
Each component is declared through the API both sides share; a chart gets its
points one a second, as a feed with every=1 makes them. The stored state
column is what is kept beside the fragment in the database (never sent).

    .venv/bin/python bench/bytes_per_delivery.py                # about 5 s
    .venv/bin/python bench/bytes_per_delivery.py --before aab6327~1
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tarfile
import tempfile
from io import BytesIO
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
GOAL_BYTES = 1500
GOAL_CASE = "Chart 60 points x 2 series"
T0 = 1_700_000_000.0
ENDPOINTS = ("/api/orders", "/api/search", "/login", "/reports/monthly", "/api/cart")


def cases() -> list[tuple[str, Any, list[Any]]]:
    """(name, component, the values it gets in turn): realistic values, the same on both sides."""
    import random

    from dashboards_live.declaring.components import Chart, Gauge, Stat, Table, Text

    rng = random.Random(19)
    rate = [round(120 + 30 * rng.random(), 1) for _ in range(60)]
    p50 = [round(rng.gauss(40, 6), 1) for _ in range(60)]
    latency = [{"p50": p, "p99": round(p * rng.uniform(2.5, 6), 1)} for p in p50]
    jobs = [{"done": float(1200 + rng.randint(0, 400)), "failed": float(rng.randint(0, 9))} for _ in range(120)]
    rows = [[e, rng.randint(80, 900), rng.randint(10, 5000)] for e in ENDPOINTS]
    return [
        ("Stat", Stat("sse_stat", title="CPU load", warn=70, critical=90), [{"text": "42.1%", "change": 3.2}]),
        ("Gauge", Gauge("memory", title="Memory used", unit="%", warn=75, critical=90), [63.4]),
        (
            "Table 5 rows x 3 columns",
            Table("slowest", title="Slowest endpoints", columns=["endpoint", "ms", "calls"]),
            [rows],
        ),
        (
            "Text 2 lines",
            Text("notes", title="Latest deploy"),
            ["payments 4.2.1 rolled out to all hosts.\nNo errors since."],
        ),
        ("Chart 60 points x 1 series", Chart("sse_chart", title="Requests per second", unit="/s"), rate),
        (GOAL_CASE, Chart("latency", title="Latency", unit=" ms", series=["p50", "p99"]), latency),
        (
            "Chart 120 points x 2 series",
            Chart("throughput", title="Jobs per minute", window=120, unit="/min", series=["done", "failed"]),
            jobs,
        ),
    ]


def measure() -> dict[str, dict[str, int]]:
    """Bytes of each case's last event, rendered by the `dashboards_live` on sys.path."""
    import django

    django.setup()
    from dashboards_live.publishing.encoding import browser_event_id, sse_frame

    out = {}
    for name, component, values in cases():
        state = None
        for i, value in enumerate(values):
            state = component.next_state(state, value, at=T0 + i)
        fragment = component.render(state)
        frame = sse_frame(component.key, fragment, browser_event_id("demo", 123456))
        stored = component.stored_state(state) if hasattr(component, "stored_state") else None
        out[name] = {
            "fragment": len(fragment.encode()),
            "frame": len(frame.encode()),
            "state": len(stored.encode()) if stored else 0,
        }
    return out


def measured(root: Path) -> dict[str, dict[str, int]]:
    """measure() in a child process with `root`'s package and settings first on sys.path."""
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings", "PYTHONPATH": str(root)}
    result = subprocess.run(
        [sys.executable, str(Path(__file__).resolve()), "--measure", str(root)],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    if result.returncode != 0:
        raise SystemExit(f"measuring {root} failed: {result.stderr.strip().splitlines()[-1:]}")
    data: dict[str, dict[str, int]] = json.loads(result.stdout)
    return data


def extract(revision: str, into: Path) -> None:
    """The package and settings of `revision`, written under `into` (git archive: no worktree to clean up)."""
    archive = subprocess.run(
        ["git", "archive", "--format=tar", revision, "dashboards_live", "config"],
        cwd=ROOT,
        capture_output=True,
        timeout=60,
    )
    if archive.returncode != 0:
        raise SystemExit(f"git archive {revision} failed: {archive.stderr.decode().strip()}")
    with tarfile.open(fileobj=BytesIO(archive.stdout)) as tar:
        tar.extractall(into, filter="data")


def table(before: dict[str, dict[str, int]], after: dict[str, dict[str, int]], revision: str) -> str:
    lines = [
        f"bytes per delivered SSE frame (what each viewer receives per event); before = {revision}, after = this tree",
        f"{'component':<30} {'before':>7} {'after':>7} {'change':>7}   {'state stored (before/after)':>27}",
    ]
    for name, now in after.items():
        was = before.get(name)
        if was is None:
            lines.append(f"{name:<30} {'n/a':>7} {now['frame']:>7}")
            continue
        change = f"{(now['frame'] - was['frame']) / was['frame']:+.0%}"
        state = f"{was['state']} / {now['state']}"
        lines.append(f"{name:<30} {was['frame']:>7} {now['frame']:>7} {change:>7}   {state:>27}")
    goal = after[GOAL_CASE]["frame"]
    verdict = "met" if goal <= GOAL_BYTES else "NOT met"
    lines.append(f"goal: {GOAL_CASE} <= {GOAL_BYTES} bytes on the wire: {goal} bytes, {verdict}")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--before", default="847bc70", help="the git revision to compare with (default 847bc70)")
    parser.add_argument("--measure", metavar="ROOT", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.measure:
        sys.path.insert(0, args.measure)
        print(json.dumps(measure()))
        return
    with tempfile.TemporaryDirectory(prefix="bytes-before-") as folder:
        extract(args.before, Path(folder))
        before = measured(Path(folder))
    after = measured(ROOT)
    print(table(before, after, args.before))


if __name__ == "__main__":
    main()
