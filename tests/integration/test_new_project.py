"""A new project installs the wheel, follows the documented steps and nothing more, and goes live.

What CI proves here, once per supported Django line: the wheel built from this
checkout, installed from the package registry into a fresh virtualenv beside
the Django it names, works in a project `django-admin startproject` has just
made. The project gets the documented steps only (INSTALLED_APPS, one
include() under a prefix, GRIP_URL, a channel rule, the wsgi.py one-liner),
declares a dashboard in an app of its own and embeds one component in a page
of its own with the template tags. Its own `manage.py runpushpin` and the
venv's gunicorn serve it; `manage.py sendevent` and `push()` in other
processes publish; headless Chromium shows the value rendered at load
(late join) and then each new one, on the app's dashboard page and on the
embedding page.

Nothing of the test's own environment reaches the project: no
DJANGO_SETTINGS_MODULE, no DASHBOARDS_* or GRIP_* variables, no PYTHONPATH,
and the checkout is not importable from it (only the wheel is).
"""

from __future__ import annotations

import glob
import http.client
import os
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from dashboards_live.web import pushpin
from tests.support.stack import free_port, require, stop, wait_listening

pytestmark = [pytest.mark.integration, pytest.mark.browser]

# the checkout this test runs in: its wheel is what is installed
CHECKOUT = Path(__file__).resolve().parents[2]
PROJECT = "mysite"
APP = "shop"
PREFIX = "live/"  # any prefix works: the pages reverse the app's URLs
LOADED_VALUE = "42"  # published before any page opens: the pages must render it
PUSHED_VALUE = "77"  # published by sendevent once the streams are live
API_VALUE = "78"  # published by push() in a `manage.py shell`
DELIVERY_SECONDS = 5.0
PIP_SECONDS = 240


@dataclass(frozen=True)
class Line:
    """One supported Django line and the Pythons it is tested on."""

    id: str
    pythons: tuple[tuple[int, int], ...]
    requirement: str  # what the fresh venv installs beside the wheel
    django: str  # the version the installed Django must start with


LINES = [
    Line("django5.2-py3.11", ((3, 11),), "Django>=5.2.8,<5.3", "5.2."),
    Line("django6.1-py3.12", ((3, 12), (3, 13)), "Django>=6.1,<6.2", "6.1."),
]

# what a user writes, by step ---------------------------------------------------------

SETTINGS_STEPS = """

# dashboards_live: the documented steps
INSTALLED_APPS += ["django_eventstream", "django_htmx", "dashboards_live", "{app}"]
ALLOWED_HOSTS = ["127.0.0.1"]
GRIP_URL = "http://127.0.0.1:{publish_port}?key={key}&verify-iss=pushpin"
DASHBOARDS_CHANNELS = {{"shop": "public"}}
"""

DASHBOARDS_PY = """\
from dashboards_live import Dashboard, Stat


class Shop(Dashboard):
    name = "shop"
    channel = "shop"
    orders = Stat(title="Orders")
"""

VIEWS_PY = """\
from django.shortcuts import render


def embed(request):
    return render(request, "shop/embed.html")
"""

EMBED_HTML = """\
{% load dashboards_live %}<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <title>Our shop</title>
  {% live_head %}
</head>
<body>
  <h1>Our shop</h1>
  <p>Orders so far, live:</p>
  {% live_component "shop.orders" %}
</body>
</html>
"""

PUSH_CODE = (
    f"from dashboards_live import push\nfrom shop.dashboards import Shop\nprint(push(Shop.orders, {API_VALUE}))\n"
)

# pip's words when the registry cannot be reached (rather than refusing a version)
OFFLINE = (
    "Failed to establish a new connection",
    "Temporary failure in name resolution",
    "Network is unreachable",
    "Could not fetch URL",
    "ConnectTimeoutError",
    "ReadTimeoutError",
)


def missing(message: str) -> None:
    """The suite's convention: a loud skip, or a failure under DASHBOARDS_TEST_STRICT=1."""
    if os.environ.get("DASHBOARDS_TEST_STRICT") == "1":
        pytest.fail(message)
    pytest.skip(message)


def python_version(binary: str) -> tuple[int, int] | None:
    """The (major, minor) of an interpreter that can make a venv with pip, else None."""
    try:
        out = subprocess.run(
            [binary, "-c", "import ensurepip, sys, venv; print(*sys.version_info[:2])"],
            capture_output=True,
            text=True,
            timeout=30,
            env=clean_env(),
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    if out.returncode != 0:
        return None
    major, minor = out.stdout.split()
    return int(major), int(minor)


def find_python(line: Line) -> str:
    """An interpreter of one of the line's versions: pythonX.Y on PATH, pyenv's, or python3."""
    candidates: list[str] = []
    for major, minor in line.pythons:
        found = shutil.which(f"python{major}.{minor}", path=clean_env()["PATH"])
        candidates += [found] if found else []
        candidates += sorted(glob.glob(os.path.expanduser(f"~/.pyenv/versions/{major}.{minor}.*/bin/python3")))
    candidates += [p for p in ("/usr/bin/python3", shutil.which("python3", path=clean_env()["PATH"])) if p]
    for candidate in candidates:
        if python_version(candidate) in line.pythons:
            return candidate
    wanted = " or ".join(f"{major}.{minor}" for major, minor in line.pythons)
    missing(f"PYTHON {wanted} IS NOT INSTALLED (with venv and ensurepip): {line.id} needs it")
    raise AssertionError("unreachable")


def clean_env(venv: Path | None = None) -> dict[str, str]:
    """The environment of a user's shell: nothing of this test run's Django, app settings or venv."""
    ours = Path(sys.executable).parent
    env = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith(("DJANGO_", "DASHBOARDS_", "GRIP_", "PUSHPIN_", "PYTHON", "VIRTUAL_ENV", "PYENV_"))
    }
    path = [p for p in env.get("PATH", os.defpath).split(os.pathsep) if p and Path(p) != ours]
    if venv is not None:
        path.insert(0, str(venv / "bin"))
        env["VIRTUAL_ENV"] = str(venv)
    env["PATH"] = os.pathsep.join(path)
    env["PYTHONUNBUFFERED"] = "1"
    return env


def run(argv: list[str], *, cwd: Path | None = None, env: dict[str, str], timeout: float = 60) -> str:
    """Run a command; its output, or a failure that shows it."""
    result = subprocess.run(argv, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)
    if result.returncode != 0:
        pytest.fail(
            f"{' '.join(map(str, argv))} exited {result.returncode}\n"
            f"--- stdout\n{result.stdout[-3000:]}\n--- stderr\n{result.stderr[-3000:]}"
        )
    return result.stdout + result.stderr


def edit(path: Path, old: str, new: str) -> None:
    """Replace a line startproject wrote; it must be there exactly once."""
    text = path.read_text()
    assert text.count(old) == 1, f"{path.name} from startproject has no single {old!r}:\n{text}"
    path.write_text(text.replace(old, new))


def free_offset() -> int:
    """A port_offset whose shifted ZMQ ports nothing listens on."""
    for _ in range(50):
        offset = int.from_bytes(os.urandom(2)) % 1900 * 10 + 1000
        if not pushpin.busy_ports("127.0.0.1", [port + offset for port in pushpin.ZMQ_PORTS]):
            return offset
    raise RuntimeError("no free port offset for Pushpin's ZMQ ports")


# the wheel, the venv, the project ---------------------------------------------------


def require_tools() -> None:
    require("pushpin", "the new project runs it with manage.py runpushpin")
    require("chromium", "the pages are checked in headless Chromium")
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:  # pragma: no cover - requirements-dev.txt installs it
        missing("PLAYWRIGHT IS NOT INSTALLED: pip install -r requirements-dev.txt")


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The wheel of this checkout, built as CI builds it."""
    require_tools()
    out = tmp_path_factory.mktemp("wheel")
    run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet", "-w", str(out), str(CHECKOUT)],
        env=clean_env(),
        timeout=180,
    )
    [built] = out.glob("dashboards_live-*.whl")
    return built


@dataclass
class Project:
    """A fresh venv with the wheel installed, and a startproject project that follows the steps."""

    venv: Path
    root: Path  # beside manage.py
    python: Path
    env: dict[str, str]
    client_port: int = field(default_factory=free_port)
    web_port: int = field(default_factory=free_port)
    publish_port: int = field(default_factory=free_port)
    port_offset: int = field(default_factory=free_offset)
    key: str = field(default_factory=lambda: secrets.token_urlsafe(32))
    # runpushpin's --instance-dir: Pushpin's unix sockets live in it, so a short path
    instance_dir: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="np-pp-")))
    procs: list[subprocess.Popen[bytes]] = field(default_factory=list)
    names: dict[int, str] = field(default_factory=dict)  # pid -> what it is

    def manage(self, *args: str, timeout: float = 60) -> str:
        return run([str(self.python), "manage.py", *args], cwd=self.root, env=self.env, timeout=timeout)

    def url(self, path: str) -> str:
        """Through Pushpin, as a browser opens it."""
        return f"http://127.0.0.1:{self.client_port}{path}"

    def start(self, name: str, argv: list[str]) -> subprocess.Popen[bytes]:
        log = self.root / f"{name}.log"
        proc = subprocess.Popen(
            argv,
            cwd=self.root,
            env=self.env,
            stdout=log.open("ab"),
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        self.procs.append(proc)
        self.names[proc.pid] = name
        return proc

    def logs(self) -> str:
        """The web process's log (its tracebacks), then the tail of Pushpin's (chatty)."""
        out = ""
        for name, size in (("gunicorn", 6000), ("pushpin", 2000)):
            log = self.root / f"{name}.log"
            if log.exists():
                out += f"\n--- {log.name} (last {size} characters)\n{log.read_text(errors='replace')[-size:]}"
        return out

    def exited(self) -> str | None:
        """Which process has exited, if one has."""
        for proc in self.procs:
            if proc.poll() is not None:
                return f"{self.names[proc.pid]} exited with {proc.returncode}"
        return None


def install(python: str, venv: Path, line: Line, wheel: Path) -> dict[str, str]:
    run([python, "-m", "venv", str(venv)], env=clean_env(), timeout=120)
    env = clean_env(venv)
    argv = [
        str(venv / "bin" / "python"),
        "-m",
        "pip",
        "install",
        "--quiet",
        "--prefer-binary",
        "--disable-pip-version-check",
        str(wheel),
        line.requirement,
        "gunicorn",
    ]
    result = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=PIP_SECONDS)
    if result.returncode != 0:
        errors = result.stdout[-4000:] + result.stderr[-4000:]
        if any(word in errors for word in OFFLINE) and "ResolutionImpossible" not in errors:
            missing(f"THE PACKAGE REGISTRY IS NOT REACHABLE (pip install for {line.id}):\n{errors}")
        pytest.fail(f"pip could not install the wheel with {line.requirement!r} (exit {result.returncode}):\n{errors}")
    return env


@pytest.fixture(params=LINES, ids=[line.id for line in LINES])
def project(request: pytest.FixtureRequest, tmp_path: Path, wheel: Path) -> Iterator[Project]:
    line: Line = request.param
    python = find_python(line)

    venv = tmp_path / "venv"
    env = install(python, venv, line, wheel)
    bin_ = venv / "bin"
    versions = run(
        [str(bin_ / "python"), "-c", "import sys, django; print(*sys.version_info[:2], django.get_version())"],
        env=env,
    ).split()
    assert (int(versions[0]), int(versions[1])) in line.pythons, versions
    assert versions[2].startswith(line.django), f"{line.id} installed Django {versions[2]}"
    request.node.user_properties.append(("versions", f"Python {versions[0]}.{versions[1]}, Django {versions[2]}"))

    root = tmp_path / "project"
    root.mkdir()
    run([str(bin_ / "django-admin"), "startproject", PROJECT, str(root)], env=env)
    run([str(bin_ / "python"), "manage.py", "startapp", APP], cwd=root, env=env)
    # the checkout must not be what the project imports
    where = run(
        [str(bin_ / "python"), "-c", "import dashboards_live; print(dashboards_live.__file__)"], cwd=root, env=env
    )
    assert str(venv) in where and str(CHECKOUT) not in where, where

    p = Project(venv=venv, root=root, python=bin_ / "python", env=env)
    try:
        follow_the_steps(p)
        yield p
    finally:
        for proc in reversed(p.procs):
            stop(proc)
        shutil.rmtree(p.instance_dir, ignore_errors=True)


def follow_the_steps(p: Project) -> None:
    """The documented steps, applied to what startproject and startapp wrote, and nothing more."""
    site = p.root / PROJECT
    # 1-3: INSTALLED_APPS, GRIP_URL, a rule for the dashboard's channel (DEBUG stays on)
    with (site / "settings.py").open("a") as settings:
        settings.write(SETTINGS_STEPS.format(app=APP, publish_port=p.publish_port, key=p.key))
    # 2: the app's URLs under a prefix, and the project's page that embeds a component
    edit(
        site / "urls.py",
        "from django.urls import path\n",
        "from django.urls import include, path\n\nfrom shop import views\n",
    )
    edit(
        site / "urls.py",
        "    path('admin/', admin.site.urls),\n",
        f"    path('admin/', admin.site.urls),\n    path('{PREFIX}', include('dashboards_live.urls')),\n"
        "    path('embed/', views.embed),\n",
    )
    # the optional one-liner: stream connects take the app's short road
    edit(
        site / "wsgi.py",
        "from django.core.wsgi import get_wsgi_application\n",
        "from dashboards_live.web.wsgi import get_wsgi_application\n",
    )
    app = p.root / APP
    (app / "dashboards.py").write_text(DASHBOARDS_PY)
    (app / "views.py").write_text(VIEWS_PY)
    (app / "templates" / APP).mkdir(parents=True)
    (app / "templates" / APP / "embed.html").write_text(EMBED_HTML)

    p.manage("migrate", "--verbosity", "1")
    checked = p.manage("check")
    assert "ERRORS:" not in checked and "WARNINGS:" not in checked, checked
    assert "System check identified no issues" in checked, checked


# the processes ------------------------------------------------------------------------


def gunicorn_argv(p: Project) -> list[str]:
    gunicorn = str(p.venv / "bin" / "gunicorn")
    argv = [gunicorn, f"{PROJECT}.wsgi", "--bind", f"127.0.0.1:{p.web_port}", "--workers", "2"]
    argv += ["--graceful-timeout", "2"]
    # gunicorn 27 opens a control socket at one path in $HOME for every instance
    helptext = subprocess.run([gunicorn, "--help"], capture_output=True, text=True, env=p.env, timeout=30).stdout
    if "--no-control-socket" in helptext:
        argv.append("--no-control-socket")
    return argv


def start_serving(p: Project) -> None:
    ports = [p.client_port, p.web_port, p.publish_port, *(port + p.port_offset for port in pushpin.ZMQ_PORTS)]
    assert len(set(ports)) == len(ports), ports
    assert not pushpin.busy_ports("127.0.0.1", ports), f"ports taken before the start: {ports}"
    web = p.start("gunicorn", gunicorn_argv(p))
    proxy = p.start(
        "pushpin",
        [
            str(p.python),
            "manage.py",
            "runpushpin",
            "--http-port",
            f"127.0.0.1:{p.client_port}",
            "--web",
            f"127.0.0.1:{p.web_port}",
            "--instance-dir",
            str(p.instance_dir),
            "--port-offset",
            str(p.port_offset),
        ],
    )
    try:
        wait_listening(p.web_port, 30, web, p.root / "gunicorn.log")
        wait_listening(p.client_port, 20, proxy, p.root / "pushpin.log")
        wait_listening(p.publish_port, 20, proxy, p.root / "pushpin.log")
        wait_page(p, f"/{PREFIX}dashboards/shop/", 20)
    except RuntimeError as exc:
        pytest.fail(f"{exc}{p.logs()}")


def wait_page(p: Project, path: str, timeout: float) -> None:
    """Until Pushpin routes a page to the web process (it opens its ports before its parts connect)."""
    deadline = time.monotonic() + timeout
    status: object = None
    while time.monotonic() < deadline:
        if p.exited():
            raise RuntimeError(f"{p.exited()} before {path} answered through Pushpin (last: {status})")
        conn = http.client.HTTPConnection("127.0.0.1", p.client_port, timeout=3)
        try:
            conn.request("GET", path)
            response = conn.getresponse()
            response.read()
            status = response.status
            if status == 200:
                return
        except (OSError, http.client.HTTPException) as exc:
            status = exc
        finally:
            conn.close()
        time.sleep(0.1)
    raise RuntimeError(f"{path} through Pushpin did not answer 200 within {timeout} s (last: {status})")


# the test ---------------------------------------------------------------------------


def shows(page: Any, value: str, timeout: float) -> None:
    page.wait_for_function(
        "value => document.querySelector('#orders .stat-text')?.textContent.trim() === value",
        arg=value,
        timeout=timeout * 1000,
    )


def test_a_new_project_goes_live_with_the_documented_steps(project: Project, browser: Any) -> None:
    p = project
    start_serving(p)

    # published before any page opens: the pages render it from the stored event
    out = p.manage("sendevent", "--render", "shop.orders", LOADED_VALUE)
    assert "Published 'orders' on 'shop'" in out, out

    try:
        check_pages(p, browser)
    except Exception as exc:
        raise AssertionError(f"{exc}{p.logs()}") from exc


def check_pages(p: Project, browser: Any) -> None:
    context = browser.new_context()
    errors: list[str] = []
    failed: list[str] = []  # requests that got an error status (a script that did not load)
    pages = {}
    for path in (f"/{PREFIX}dashboards/shop/", "/embed/"):
        page = context.new_page()
        page.on("pageerror", lambda exc, path=path: errors.append(f"{path}: {exc}"))
        page.on("response", lambda r: failed.append(f"{r.status} {r.url}") if r.status >= 400 else None)
        response = page.goto(p.url(path))
        assert response is not None and response.status == 200, f"{path}: {response and response.status}"
        # late join: rendered at load from the last stored event, before any stream delivers
        assert page.locator("#orders .stat-text").inner_text().strip() == LOADED_VALUE, f"{path}: {page.content()}"
        # the stream URL comes from where the project mounted the app
        stream = page.locator("[data-live-stream]")
        # and starts after the newest stored event, so nothing published since the render is lost
        expected = f"/{PREFIX}events/shop/?lastEventId=shop%3A"
        assert (stream.get_attribute("sse-connect") or "").startswith(expected), f"{path}: {page.content()}"
        pages[path] = page
    for path, page in pages.items():
        try:
            page.wait_for_selector(".stream-state[data-stream=live]", timeout=10_000)
        except Exception as exc:
            raise AssertionError(
                f"{path}: the stream never went live: {exc}\nfailed requests: {failed}\n{page.content()}"
            ) from exc

    # a new value from another process reaches both pages
    out = p.manage("sendevent", "--render", "shop.orders", PUSHED_VALUE)
    assert "Published 'orders' on 'shop'" in out, out
    for path, page in pages.items():
        try:
            shows(page, PUSHED_VALUE, DELIVERY_SECONDS)
        except Exception as exc:
            raise AssertionError(f"{path} did not show {PUSHED_VALUE} within {DELIVERY_SECONDS} s") from exc

    # and one from push(), the API a project's own code calls
    p.manage("shell", "-c", PUSH_CODE)
    for path, page in pages.items():
        try:
            shows(page, API_VALUE, DELIVERY_SECONDS)
        except Exception as exc:
            raise AssertionError(f"{path} did not show {API_VALUE} (push()) within {DELIVERY_SECONDS} s") from exc
    assert not errors, errors
    context.close()
