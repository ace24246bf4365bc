"""What push() and push_many() cost, beside the bare round trip to Pushpin and send_event.

The issue's goals: push() in-process costs <= 2 ms p99 per call beyond the
round trip to Pushpin, and push_many sustains >= 5,000 values a second.

Starts its own Pushpin and gunicorn (tests.support.stack) and a real SSE client
on the channel (tests.support.sse, in this process), then runs the publisher in
a child process with exactly the stack's settings (`--worker`). The publisher:

  raw round trip  the engine's transport posting one encoded Stat-sized item
                  (no storage, no rendering): the floor every publish pays. It
                  carries no id, and Pushpin does not deliver such an item to a
                  subscriber that tracks ids, so its delivered column is n/a
  push(Stat)      push() per call, a Stat value
  push(Chart)     push() per call on a 60-point, 2-series Chart (reads its last
                  stored state first)
  send_event      django-eventstream's send_event(..., json_encode=False,
                  async_publish=False) per call: synchronous, so comparable
then, for the same time each, in half-second slices taken in turn:
  push_many       batches of 100 values over 20 components (4 each of Stat,
                  Chart, Table, Text, Gauge)
  push_many Stat  batches of 100 values over 20 Stats: the same path with the
                  cheapest component, to tell rendering from delivery
  push_many 100   batches of 100 values over 100 Stats: nothing folds (values
                  for one component in one call go out as one event, its final
                  whole state), so every value is an event of its own
  send_event loop the same 20 components' fragments (rendered once, beforehand:
                  send_event renders nothing) one call each

The per-call methods run in a shuffled order in every round, so all see the
same load. Every value published is counted at the SSE client (delivered %).
Timings are time.perf_counter() around each call; percentiles are nearest-rank.
Reading a Chart's last state (storage.last_events) is one index probe per
component; the table's header says how many events were stored in each phase.

    .venv/bin/python bench/push.py                       # 1000 calls, 5 s: about 50 s
    .venv/bin/python bench/push.py --calls 500 --seconds 2
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import random
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

CHANNEL = "bench"
BEYOND_GOAL_MS = 2.0  # push() p99 beyond the round trip's p99
RATE_GOAL = 5000.0  # push_many values a second
BATCH = 100
SLICE = 0.5  # seconds: the throughput sides take turns in slices this long
KINDS = ("stat", "chart", "table", "text", "gauge")
PER_KIND = 4  # push_many's 20 components: 4 of each kind
PER_CALL = ("raw", "push_stat", "push_chart", "send_event")
# the event names each method publishes, to count them at the SSE client
NAMES: dict[str, list[str]] = {
    "raw": ["raw"],
    "push_stat": ["queue"],
    "push_chart": ["rate"],
    "send_event": ["sendev"],
    "push_many": [f"{kind}{i}" for kind in KINDS for i in range(PER_KIND)],
    "push_many_stat": [f"q{i}" for i in range(20)],
    "push_many_distinct": [f"d{i}" for i in range(BATCH)],
    "send_event_loop": [f"se_{kind}{i}" for kind in KINDS for i in range(PER_KIND)],
}


# -- the publisher (a child process with the stack's settings) -----------------
def declare() -> Any:
    """The bench dashboard: the two per-call components and push_many's twenty."""
    from dashboards_live import Chart, Dashboard, Gauge, Stat, Table, Text

    attrs: dict[str, Any] = {
        "channel": CHANNEL,
        "queue": Stat(title="Jobs", warn=100, critical=1000),
        "rate": Chart(title="Rate", window=60, series=["done", "failed"]),
    }
    for i in range(PER_KIND):
        attrs[f"stat{i}"] = Stat(title=f"Stat {i}", warn=100, critical=1000)
        attrs[f"chart{i}"] = Chart(title=f"Chart {i}", window=60, series=["done", "failed"])
        attrs[f"table{i}"] = Table(title=f"Table {i}", columns=["job", "host", "seconds"], max_rows=10)
        attrs[f"text{i}"] = Text(title=f"Text {i}")
        attrs[f"gauge{i}"] = Gauge(title=f"Gauge {i}", max=100, unit="%", warn=80, critical=95)
    for name in NAMES["push_many_stat"] + NAMES["push_many_distinct"]:
        attrs[name] = Stat(title=f"Queue {name}", warn=100, critical=1000)
    return type("Bench", (Dashboard,), attrs)


def value_for(kind: str, n: int) -> Any:
    if kind == "stat":
        return {"value": n % 1500, "sub_text": "jobs waiting"}
    if kind == "chart":
        return {"done": float(n % 97), "failed": float(n % 7)}
    if kind == "table":
        return [[f"job-{n}-{r}", f"web-{r}", round(r * 1.25 + n % 10, 2)] for r in range(10)]
    if kind == "text":
        return f"Deploy {n} finished\nall checks green on {n % 12} hosts"
    return float(n % 100)


def worker(calls: int, seconds: float) -> None:
    import django

    django.setup()
    from django_eventstream import send_event

    from dashboards_live.contract import make_event
    from dashboards_live.publishing.encoding import body_of, encode_item, export_item
    from dashboards_live.publishing.push import default_engine, push, push_many

    bench = declare()
    engine = default_engine()
    mixed = [(getattr(bench, name), name.rstrip("0123456789")) for name in NAMES["push_many"]]
    stats = [(getattr(bench, name), "stat") for name in NAMES["push_many_stat"]]
    distinct = [(getattr(bench, name), "stat") for name in NAMES["push_many_distinct"]]
    sent: Counter[str] = Counter()
    stat_fragment = bench.queue.render(bench.queue.next_state(None, value_for("stat", 1)))
    raw_body = body_of([encode_item(export_item(make_event(CHANNEL, "raw", stat_fragment), None))])
    # what the send_event loop sends: each of the twenty components' fragment, rendered here once
    fragments = [(f"se_{c.key}", c.render(c.next_state(None, value_for(kind, 7), time.time()))) for c, kind in mixed]
    n = 0
    # the time each push spends in its own round trip to Pushpin: what remains is push()'s own work
    posting = [0.0]
    real_post = engine.transport.post

    def timed_post(body: bytes, deadline: float) -> None:
        began = time.perf_counter()
        try:
            real_post(body, deadline)
        finally:
            posting[0] += time.perf_counter() - began

    engine.transport.post = timed_post  # type: ignore[method-assign]
    own: dict[str, list[float]] = {"push_stat": [], "push_chart": []}

    def raw() -> None:
        engine.transport.post(raw_body, time.monotonic() + engine.timeout)
        sent["raw"] += 1

    def push_stat() -> None:
        push(bench.queue, value_for("stat", n))
        sent["queue"] += 1

    def push_chart() -> None:
        push(bench.rate, value_for("chart", n))
        sent["rate"] += 1

    def send_event_once() -> None:
        send_event(CHANNEL, "sendev", stat_fragment, json_encode=False, async_publish=False)
        sent["sendev"] += 1

    steps = {"raw": raw, "push_stat": push_stat, "push_chart": push_chart, "send_event": send_event_once}

    # full chart windows first (60 points, one a second), then Pushpin's first
    # recovery round and the caches, outside the figures
    now = time.time()
    for k in range(60):
        at = now - 60 + k
        charts = [c for c, kind in mixed if kind == "chart"] + [bench.rate]
        batch = [(c, value_for("chart", k)) for c in charts]
        push_many(batch, at=at)
        for c, _ in batch:
            sent[c.key] += 1
    warm_until = time.monotonic() + 1.5
    while time.monotonic() < warm_until:
        n += 1
        for step in steps.values():
            step()

    def stored() -> int:
        from django_eventstream.models import Event as Row

        return int(Row.objects.filter(channel=CHANNEL).count())

    rows = [stored()]
    timings: dict[str, list[float]] = {name: [] for name in steps}
    for _ in range(calls):
        n += 1
        order = list(steps)
        random.shuffle(order)
        for name in order:
            posting[0] = 0.0
            began = time.perf_counter()
            steps[name]()
            spent = time.perf_counter() - began
            timings[name].append(spent)
            if name in own:
                own[name].append(spent - posting[0])

    def many_slice(comps: list[tuple[Any, str]], until: float) -> tuple[list[float], int]:
        nonlocal n
        took, values = [], 0
        while time.monotonic() < until:
            n += 1
            batch = [(c, value_for(kind, n + j)) for j, (c, kind) in enumerate(comps * (BATCH // len(comps)))]
            began = time.perf_counter()
            push_many(batch)
            took.append(time.perf_counter() - began)
            values += len(batch)
            # values for one component fold into one event (its final whole state)
            for key in {c.key for c, _ in batch}:
                sent[key] += 1
        return took, values

    def loop_slice(until: float) -> tuple[list[float], int]:
        took, k = [], 0
        while time.monotonic() < until:
            name, data = fragments[k % len(fragments)]
            began = time.perf_counter()
            send_event(CHANNEL, name, data, json_encode=False, async_publish=False)
            took.append(time.perf_counter() - began)
            sent[name] += 1
            k += 1
        return took, k

    rows.append(stored())
    sides: dict[str, Callable[[float], tuple[list[float], int]]] = {
        "push_many": functools.partial(many_slice, mixed),
        "push_many_stat": functools.partial(many_slice, stats),
        "push_many_distinct": functools.partial(many_slice, distinct),
        "send_event_loop": loop_slice,
    }
    throughput: dict[str, dict[str, Any]] = {name: {"took": [], "values": 0} for name in sides}
    slices = max(1, round(seconds / SLICE))
    names = list(sides)
    for i in range(slices):
        turn = i % len(names)
        for name in names[turn:] + names[:turn]:  # ABC BCA CAB ...: none always goes first
            took, values = sides[name](time.monotonic() + seconds / slices)
            throughput[name]["took"] += took
            throughput[name]["values"] += values
    rows.append(stored())
    engine.close()
    print(json.dumps({"timings": timings, "own": own, "throughput": throughput, "sent": sent, "stored": rows}))


# -- the measuring side ---------------------------------------------------------
class Counting:
    """The SSE client's events counted by name (stored events once per id: a replay repeats them)."""

    def __init__(self, url: str) -> None:
        from tests.support.sse import SSEClient

        self.client = SSEClient(url, timeout=120)
        if self.client.status != 200:
            raise SystemExit(f"the SSE client could not connect: HTTP {self.client.status}")
        if not self.client.wait_for(lambda events: any(e.event == "stream-open" for e in events), timeout=10):
            raise SystemExit("the stream did not open")
        self.counts: Counter[str] = Counter()
        self.seen: set[tuple[str, str]] = set()
        self.thread = threading.Thread(target=self._count, daemon=True)
        self.thread.start()

    def _count(self) -> None:
        client = self.client
        while (event := client.queue.get()) is not None:
            if len(client.events) > 1000:
                client.events.clear()  # counted from the queue; the list would hold every fragment
            if event.event == "raw" or event.id is None:  # raw items carry no id (the client keeps the last)
                self.counts[event.event] += 1
            elif (event.event, event.id) not in self.seen:
                self.seen.add((event.event, event.id))
                self.counts[event.event] += 1

    def wait_for(self, sent: Counter[str], timeout: float = 15, quiet: float = 3) -> None:
        """Until every event sent arrived, or nothing arrives for `quiet` seconds."""
        deadline, last, since = time.monotonic() + timeout, -1, time.monotonic()
        while time.monotonic() < deadline:
            total = sum(min(self.counts[k], v) for k, v in sent.items())
            if total >= sum(sent.values()):
                return
            if total != last:
                last, since = total, time.monotonic()
            elif time.monotonic() - since > quiet:
                return
            time.sleep(0.1)

    def close(self) -> None:
        self.client.close()


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, int(q * len(ordered) + 0.5) - 1))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--calls", type=int, default=1000, help="calls of each per-call method (default 1000)")
    parser.add_argument("--seconds", type=float, default=5.0, help="seconds of each throughput side (default 5)")
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    opts = parser.parse_args()
    if not 1 <= opts.calls <= 20000 or not 0.5 <= opts.seconds <= 30:
        parser.error("--calls is 1 to 20000 and --seconds 0.5 to 30")
    if opts.worker:
        worker(opts.calls, opts.seconds)
        return

    from tests.support.stack import PYTHON, Stack

    with tempfile.TemporaryDirectory(prefix="bench-push-") as tmp:
        stack = Stack(Path(tmp))
        stack.production()
        counting = None
        try:
            load = os.getloadavg()[0]
            stack.start()
            counting = Counting(stack.url(f"/events/{CHANNEL}/"))
            args = ["--worker", "--calls", str(opts.calls), "--seconds", str(opts.seconds)]
            done = subprocess.run(
                [PYTHON, __file__, *args], cwd=ROOT, env=stack.env, capture_output=True, text=True, timeout=300
            )
            if done.returncode != 0:
                raise SystemExit(f"the publisher failed:\n{done.stderr[-3000:]}")
            results = json.loads(done.stdout.strip().splitlines()[-1])
            sent = Counter(results["sent"])
            counting.wait_for(sent)
            received = Counter(counting.counts)
            results["load"] = (load, os.getloadavg()[0])
        finally:
            if counting is not None:
                counting.close()
            stack.close()
    report(opts, results, sent, received)


def report(opts: argparse.Namespace, results: dict[str, Any], sent: Counter[str], received: Counter[str]) -> None:
    def delivered(method: str) -> float:
        names = NAMES[method]
        total = sum(sent[k] for k in names)
        return 100.0 * sum(min(received[k], sent[k]) for k in names) / total if total else float("nan")

    timings: dict[str, list[float]] = results["timings"]
    ms = {name: [t * 1000 for t in values] for name, values in timings.items()}
    own_ms = {name: [t * 1000 for t in values] for name, values in results.get("own", {}).items()}
    floor50, floor99 = pct(ms["raw"], 0.5), pct(ms["raw"], 0.99)
    rows: list[tuple[str, int, float, float, str, float, float, str, str]] = []

    def per_call(label: str, method: str, goal: str) -> None:
        values = ms[method]
        p50, p99 = pct(values, 0.5), pct(values, 0.99)
        beyond, met = "", ""
        if method != "raw":
            beyond = f"{p99 - floor99:5.2f} ({p50 - floor50:4.2f})"
        if method in own_ms:
            # push()'s own work: each call's time minus its own round trip to Pushpin
            own50, own99 = pct(own_ms[method], 0.5), pct(own_ms[method], 0.99)
            beyond = f"{own99:5.2f} ({own50:4.2f}) own"
            met = "met" if own99 <= BEYOND_GOAL_MS else "NOT met"
        rate = len(values) / (sum(values) / 1000)
        share = float("nan") if method == "raw" else delivered(method)
        rows.append((label, len(values), p50, p99, beyond, rate, share, goal, met))

    per_call("raw round trip (transport.post, 1 item)", "raw", "the floor")
    per_call("push(Stat) per call", "push_stat", f"<= {BEYOND_GOAL_MS:g} ms beyond")
    per_call("push(Chart 60 x 2) per call", "push_chart", f"<= {BEYOND_GOAL_MS:g} ms beyond")
    per_call("send_event(sync) per call", "send_event", "reference")
    for method, label, goal in (
        ("push_many", f"push_many, {BATCH} values / 20 mixed kinds", f">= {RATE_GOAL:,.0f}/s"),
        ("push_many_stat", f"push_many, {BATCH} values / 20 Stats", "(same, Stats only)"),
        ("push_many_distinct", f"push_many, {BATCH} values / {BATCH} Stats", "(no folding)"),
        ("send_event_loop", "send_event loop, pre-rendered", "reference"),
    ):
        side = results["throughput"][method]
        took = [t * 1000 for t in side["took"]]
        rate = side["values"] / (sum(took) / 1000)
        met = ""
        if method.startswith("push_many"):
            met = "met" if rate >= RATE_GOAL and delivered(method) == 100.0 else "NOT met"
        rows.append((label, len(took), pct(took, 0.5), pct(took, 0.99), "", rate, delivered(method), goal, met))

    print(
        f"push benchmark: {opts.calls} calls per method (shuffled each round), {opts.seconds:g} s per throughput "
        f"side (in turn, {SLICE:g} s slices), Python {sys.version.split()[0]}, {os.cpu_count()} CPUs, "
        "real Pushpin + gunicorn + SSE client, SQLite"
    )
    first, middle, last = results["stored"]
    print(
        f"load average {results['load'][0]:.2f} before, {results['load'][1]:.2f} after; events stored on the "
        f"channel: {first:,} at the per-call start, {middle:,} at the throughput start, {last:,} at the end"
    )
    print(
        "beyond RT: push rows: p99 (p50) of each call's time minus its own round trip to Pushpin ('own'), ms;"
        " send_event: p99 - raw p99 (p50 - raw p50); throughput rows time one call (push_many: a batch of 100)"
    )
    print()
    head = ("method", "calls", "p50 ms", "p99 ms", "beyond RT p99 (p50)", "values/s", "delivered", "goal", "met?")
    widths = (42, 6, 7, 7, 19, 8, 9, 20, 7)
    print("| " + " | ".join(f"{h:<{w}}" for h, w in zip(head, widths, strict=True)) + " |")
    print("|" + "|".join("-" * (w + 2) for w in widths) + "|")
    for label, calls, p50, p99, beyond, rate, share, goal, met in rows:
        cells = (
            label,
            str(calls),
            f"{p50:.2f}",
            f"{p99:.2f}",
            beyond,
            f"{rate:,.0f}",
            "n/a" if share != share else f"{share:.2f}%",
            goal,
            met,
        )
        print("| " + " | ".join(f"{c:<{w}}" for c, w in zip(cells, widths, strict=True)) + " |")


if __name__ == "__main__":
    main()
