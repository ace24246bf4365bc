"""Server time of a dashboard page with 20 components, beside the same page empty and a bare view.

The issue's goal: a dashboard page with 20 components renders in <= 20 ms at
the server (judged here on p99, the stricter reading).

In-process, no sockets: Django's test Client sends each GET through the whole
middleware stack and URLconf to dashboards_live.web.views.dashboard_page, with
DJANGO_DEBUG=0 and SQLite in a temporary directory. Every page has the same 20
components, 4 of each kind: Stat, Chart (60 points x 2 series), Table (10 rows),
Text, Gauge. Pages measured side by side, in a shuffled order each round:

  full     one realistic stored event per component (what a late joiner sees)
  empty    the same 20 slots with nothing stored (placeholders)
  history  the full page after --history older events per component were
           stored: the page reads each component's last event from storage,
           whose retention is django-eventstream's (a day by default)
  bare     GET /login/ (Django's LoginView: a form, a CSRF token), the floor

setup_test_environment() is not called: it instruments every template render
(the test Client then copies each context), which would add to the figures.

    .venv/bin/python bench/dashboard_render.py                  # 200 requests each, about 15 s
    .venv/bin/python bench/dashboard_render.py --requests 500 --history 2000
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

GOAL_MS = 20.0
PAGES = {"full": "render-full", "empty": "render-empty", "history": "render-history"}
KINDS = ("stat", "chart", "table", "text", "gauge")
PER_KIND = 4


class NoPushpin:
    """A transport that takes every body and sends it nowhere: only storage is wanted here."""

    timeout = 5.0

    def post(self, body: bytes, deadline: float) -> None:
        pass

    def end_streams(self, user_id: str, marker: str, text: str) -> None:
        pass

    def ping(self) -> None:
        pass

    def close(self) -> None:
        pass


def components() -> dict[str, Any]:
    from dashboards_live import Chart, Gauge, Stat, Table, Text

    out: dict[str, Any] = {}
    for i in range(PER_KIND):
        out[f"stat{i}"] = Stat(title=f"Jobs waiting {i}", warn=100, critical=1000)
        out[f"chart{i}"] = Chart(title=f"Jobs per minute {i}", window=60, series=["done", "failed"], width=2)
        out[f"table{i}"] = Table(title=f"Slowest jobs {i}", columns=["job", "host", "seconds"], max_rows=10)
        out[f"text{i}"] = Text(title=f"Last deploy {i}")
        out[f"gauge{i}"] = Gauge(title=f"Disk used {i}", max=100, unit="%", warn=80, critical=95)
    return out


def value_for(kind: str, n: int) -> Any:
    if kind == "stat":
        return {"value": 120 + n % 50, "sub_text": "jobs waiting", "change": 3.5}
    if kind == "chart":
        return {"done": float(40 + n % 17), "failed": float(n % 5)}
    if kind == "table":
        return [[f"report-{n}-{r}", f"web-{r % 3}", round(12.5 - r * 1.1, 2)] for r in range(10)]
    if kind == "text":
        return f"Deploy #{n} finished at 12:{n % 60:02d}\nall checks green on 12 hosts"
    return float(60 + n % 30)


def fill(dashboard: Any, history: int) -> None:
    """Store `history` older events per component, then one realistic event each (charts: a full window)."""
    from dashboards_live.contract import make_event
    from dashboards_live.publishing.delivery import DeliveryEngine
    from dashboards_live.publishing.push import push_many
    from dashboards_live.publishing.storage import EventStore

    engine = DeliveryEngine(EventStore(), NoPushpin())
    comps = [(c, c.key.rstrip("0123456789")) for c in dashboard.components]
    now = time.time()
    states: dict[str, Any] = {}
    for c, kind in comps:
        if kind == "chart":  # a full window, one point a second
            for k in range(60):
                states[c.key] = c.next_state(states.get(c.key), value_for("chart", k), now - 60 + k)
    fragments = {
        c.key: c.render(states[c.key] if kind == "chart" else c.next_state(None, value_for(kind, 3)))
        for c, kind in comps
    }
    older = [make_event(dashboard.channel, key, fragment) for key, fragment in fragments.items()]
    left = history
    while left > 0:  # fragments of the same size as the last ones, 50 per component at a time
        batch = min(50, left)
        engine.store_events(older * batch)
        left -= batch
    # the last event per component as push() stores it
    engine.publish([make_event(dashboard.channel, c.key, fragments[c.key]) for c, kind in comps if kind == "chart"])
    push_many([(c, value_for(kind, 7)) for c, kind in comps if kind != "chart"], engine=engine)


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, int(q * len(ordered) + 0.5) - 1))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--requests", type=int, default=200, help="GETs of each page (default 200)")
    parser.add_argument("--history", type=int, default=500, help="older events per component on the history page")
    opts = parser.parse_args()
    if not 10 <= opts.requests <= 20000 or not 0 <= opts.history <= 20000:
        parser.error("--requests is 10 to 20000 and --history 0 to 20000")

    with tempfile.TemporaryDirectory(prefix="bench-render-") as tmp:
        run(opts, Path(tmp))


def run(opts: argparse.Namespace, tmp: Path) -> None:
    (tmp / "static").mkdir()  # STATIC_ROOT: WhiteNoise warns without it
    os.environ.update(
        {
            "DJANGO_SETTINGS_MODULE": "config.settings",
            "DASHBOARDS_VAR_DIR": str(tmp),
            "DATABASE_URL": f"sqlite:///{tmp / 'db.sqlite3'}",
            "DJANGO_DEBUG": "0",
            "DJANGO_SECRET_KEY": "bench-" + "x" * 44,
            "DJANGO_ALLOWED_HOSTS": "testserver",
            "DASHBOARDS_CHANNELS": ",".join(f"{channel}=public" for channel in PAGES.values()),
        }
    )
    import django

    django.setup()
    from django.core.management import call_command
    from django.test import Client

    from dashboards_live.declaring.dashboards import Dashboard

    call_command("migrate", verbosity=0)
    boards = {
        page: type(f"Render{page.title()}", (Dashboard,), {"name": channel, "channel": channel, **components()})
        for page, channel in PAGES.items()
    }
    fill(boards["full"], 0)
    if opts.history:
        fill(boards["history"], opts.history)
    paths = {page: f"/dashboards/{channel}/" for page, channel in PAGES.items()}
    if not opts.history:
        del paths["history"]
    paths["bare"] = "/login/"

    client = Client()
    sizes: dict[str, int] = {}
    for page, path in paths.items():
        response = client.get(path, secure=True)
        body = response.content.decode()
        if response.status_code != 200:
            raise SystemExit(f"GET {path}: HTTP {response.status_code}\n{body[:2000]}")
        sizes[page] = len(body)
        if page != "bare":
            slots, waiting = body.count("sse-swap="), body.count('class="placeholder"')
            expected = 20 if page == "empty" else 0
            if slots != 20 or waiting != expected:
                raise SystemExit(f"{path}: {slots} slots and {waiting} placeholders, not 20 and {expected}")
        for _ in range(20):  # warm: template and query caches, connections
            client.get(path, secure=True)

    load = os.getloadavg()[0]
    times: dict[str, list[float]] = {page: [] for page in paths}
    for _ in range(opts.requests):
        order = list(paths)
        random.shuffle(order)
        for page in order:
            began = time.perf_counter()
            response = client.get(paths[page], secure=True)
            times[page].append((time.perf_counter() - began) * 1000)
            assert response.status_code == 200
    report(opts, times, sizes, (load, os.getloadavg()[0]))


def report(
    opts: argparse.Namespace, times: dict[str, list[float]], sizes: dict[str, int], load: tuple[float, float]
) -> None:
    bare = pct(times["bare"], 0.5)
    labels = {
        "full": "dashboard, 20 components, 1 stored event each",
        "empty": "dashboard, same 20 slots, nothing stored",
        "history": f"dashboard, 20 components, {opts.history:,} older events each",
        "bare": "bare Django view (GET /login/)",
    }
    print(
        f"dashboard render benchmark: {opts.requests} GETs per page (shuffled each round), Django test Client "
        f"in-process, DJANGO_DEBUG=0, SQLite, Python {sys.version.split()[0]}, {os.cpu_count()} CPUs, "
        f"load average {load[0]:.2f} before, {load[1]:.2f} after"
    )
    print()
    head = ("page", "requests", "p50 ms", "p99 ms", "p50 - bare ms", "KiB", "goal", "met?")
    widths = (48, 8, 7, 7, 13, 6, 14, 7)
    print("| " + " | ".join(f"{h:<{w}}" for h, w in zip(head, widths, strict=True)) + " |")
    print("|" + "|".join("-" * (w + 2) for w in widths) + "|")
    for page, values in times.items():
        p50, p99 = pct(values, 0.5), pct(values, 0.99)
        goal, met = "", ""
        if page == "full":
            goal, met = f"p99 <= {GOAL_MS:g} ms", "met" if p99 <= GOAL_MS else "NOT met"
        cells = (
            labels[page],
            str(len(values)),
            f"{p50:.2f}",
            f"{p99:.2f}",
            "" if page == "bare" else f"{p50 - bare:.2f}",
            f"{sizes[page] / 1024:.0f}",
            goal,
            met,
        )
        print("| " + " | ".join(f"{c:<{w}}" for c, w in zip(cells, widths, strict=True)) + " |")


if __name__ == "__main__":
    main()
