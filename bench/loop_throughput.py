"""Throughput: events a second one publishing process sustains into a real Pushpin with 10 SSE listeners.

Side by side in one run, on the same Pushpin, gunicorn and SQLite database:
  runeventloop   one `manage.py runeventloop` process running BENCH_FEEDS feeds (bench/feeds.py)
  send_event     one process calling django-eventstream's send_event once per event, paced the same way

For each offered rate (stepped up until a side fails) ten SSE listeners, in a
process of their own, count the events and measure publish-to-receive latency
(the producer stamps CLOCK_MONOTONIC, shared by every process, into each
value). A step passes when p99 <= 100 ms and the listeners received at least
99% of what was produced at >= 95% of the offered rate. A step that fails is
run once more (the machine is shared) and the better try counts; a side stops
at its first failed rate. Usage:

    python -m bench.loop_throughput [--rates 250,500,1000,...] [--seconds 5] [--feeds 100]
    python -m bench.loop_throughput --database sqlite,postgres --rates 1000,5000 --all-rates

With --database sqlite,postgres the loop runs on each database in turn (its own
stack; PostgreSQL is a throwaway cluster on loopback) and send_event on the
first only, so the table shows both databases beside each other in one run.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import selectors
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.support.stack import PYTHON, Stack  # noqa: E402

STAMP = re.compile(rb"at (\d+\.\d{6})<")
LISTENERS = int(os.environ.get("BENCH_LISTENERS", "10"))
P99_GOAL_MS = 100.0
# Seconds at the start of each step left out of the latency figures: imports and
# first connections, and one recovery round about 0.6 s after the first publish,
# where Pushpin sends every listener back to Django once (a ~100 ms stall, seen
# at every rate and with every publisher, Pushpin alone included).
WARMUP = 1.5


def listen(host: str, port: int, path: str, count: int) -> None:
    """The listener process: `count` SSE connections read in one selectors loop.

    Plain HTTP/1.0 (no chunked framing to undo) and a regex over whole frames
    keep the reading cheap, so the listeners are not what limits a step. Prints
    "ready" once every stream is open; on a line on stdin, prints the
    (stamp, latency) pairs each connection saw, as JSON, and exits.
    """
    selector = selectors.DefaultSelector()
    conns: list[dict[str, Any]] = []
    for _ in range(count):
        sock = socket.create_connection((host, port), timeout=10)
        sock.sendall(f"GET {path} HTTP/1.0\r\nHost: {host}:{port}\r\nAccept: text/event-stream\r\n\r\n".encode())
        sock.setblocking(False)
        conn: dict[str, Any] = {"sock": sock, "tail": b"", "pairs": [], "open": False}
        selector.register(sock, selectors.EVENT_READ, conn)
        conns.append(conn)
    selector.register(sys.stdin, selectors.EVENT_READ, None)
    announced = False
    while True:
        for key, _ in selector.select(1.0):
            if key.data is None:
                print(json.dumps([c["pairs"] for c in conns]), flush=True)
                return
            conn = key.data
            chunk = conn["sock"].recv(1 << 20)
            now = time.monotonic()
            if not chunk:
                selector.unregister(conn["sock"])
                continue
            data = conn["tail"] + chunk
            cut = data.rfind(b"\n\n") + 2
            conn["tail"] = data[cut:]
            frames = data[:cut]
            conn["open"] = conn["open"] or b"stream-open" in frames
            conn["pairs"].extend((float(m), now - float(m)) for m in STAMP.findall(frames))
        if not announced and all(c["open"] for c in conns):
            announced = True
            print("ready", flush=True)


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


@dataclass
class Step:
    side: str  # "runeventloop" or "send_event"
    database: str
    rate: int
    produced: int
    elapsed: float
    received: list[int]
    samples: list[tuple[float, float]]  # (stamp, latency) of every event every listener received
    retried: bool = False  # failed once; this is the better of two tries

    @property
    def latencies(self) -> list[float]:
        """Steady state: events produced after the first WARMUP seconds (imports, connections, caches)."""
        if not self.samples:
            return []
        first = min(stamp for stamp, _ in self.samples)
        return [lat for stamp, lat in self.samples if stamp >= first + WARMUP]

    @property
    def achieved(self) -> float:
        return statistics.median(self.received) / self.elapsed if self.elapsed else 0.0

    @property
    def delivered(self) -> float:
        return min(self.received) / self.produced if self.produced else 0.0

    def ms(self, q: float) -> float:
        return percentile(self.latencies, q) * 1000

    @property
    def passed(self) -> bool:
        return self.ms(0.99) <= P99_GOAL_MS and self.delivered >= 0.99 and self.achieved >= 0.95 * self.rate


def run_step(stack: Stack, side: str, rate: int, seconds: float, feeds: int) -> Step:
    channel = f"tp-{side.replace('_', '-')}-{rate}-{time.monotonic_ns()}"[:64]
    listener = subprocess.Popen(
        [PYTHON, "-m", "bench.loop_throughput", "--listen", str(stack.client_port), f"/events/{channel}/"],
        cwd=ROOT,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert listener.stdout is not None and listener.stdin is not None
        if listener.stdout.readline().strip() != "ready":
            raise RuntimeError("the listeners did not open their streams")
        env = {
            **stack.env,
            "BENCH_FEEDS": str(feeds),
            "BENCH_RATE": str(rate),
            "BENCH_CHANNEL": channel,
            "DASHBOARDS_FEED_MODULES": "bench.feeds",
        }
        if side == "runeventloop":
            args = [PYTHON, "manage.py", "runeventloop", "--duration", str(seconds), "--status-every", "0"]
        else:
            args = [PYTHON, "-m", "bench.loop_throughput", "--send-event-worker", "--seconds", str(seconds)]
        result = subprocess.run(args, cwd=ROOT, env=env, capture_output=True, text=True, timeout=seconds + 60)
        if result.returncode != 0:
            raise RuntimeError(f"{side} at {rate}/s failed: {result.stderr[-2000:]}")
        if side == "runeventloop":
            match = re.search(r"(\d+) ticks, \d+ events published in ([\d.]+) s", result.stdout)
            assert match, result.stdout
            produced, elapsed = int(match.group(1)), float(match.group(2))
        else:
            report = json.loads(result.stdout.strip().splitlines()[-1])
            produced, elapsed = report["produced"], report["elapsed"]
        time.sleep(1.0)  # stragglers
        out, _ = listener.communicate("stop\n", timeout=60)
    finally:
        if listener.poll() is None:
            listener.kill()
            listener.wait()
    pairs: list[list[tuple[float, float]]] = json.loads(out)
    return Step(side, "", rate, produced, elapsed, [len(p) for p in pairs], [tuple(x) for p in pairs for x in p])  # type: ignore[misc]


def send_event_worker(seconds: float) -> None:
    """The naive publisher: send_event once per event, on the same schedule as the feeds."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()
    from django_eventstream import send_event
    from django_grip import _get_pubcontrol

    from bench import feeds as bench_feeds
    from dashboards_live.declaring.components import Stat

    components = [Stat(f"b{i:03d}") for i in range(bench_feeds.FEEDS)]
    interval = bench_feeds.FEEDS / bench_feeds.RATE
    ticks = round(seconds / interval)
    produced = 0
    start = time.monotonic()
    for k in range(ticks):
        wait = start + k * interval - time.monotonic()
        if wait > 0:
            time.sleep(wait)
        for n, component in enumerate(components):
            html = component.render({"text": str(k), "sub_text": f"at {time.monotonic():.6f}"})
            send_event(bench_feeds.CHANNEL, f"b{n:03d}", html, json_encode=False)
            produced += 1
    elapsed = time.monotonic() - start
    _get_pubcontrol().wait_all_sent()
    print(json.dumps({"produced": produced, "elapsed": elapsed}))


def run_database(database: str, sides: tuple[str, ...], rates: list[int], args: argparse.Namespace) -> list[Step]:
    steps: list[Step] = []
    cluster = None
    with tempfile.TemporaryDirectory(prefix="bench-throughput-") as tmp:
        if database == "postgres":
            from tests.support.postgres import start_cluster

            cluster = start_cluster()
            stack = Stack(Path(tmp), database="postgres", cluster=cluster)
        elif database == "sqlite":
            stack = Stack(Path(tmp))
        else:
            raise SystemExit(f"--database: {database!r} is not sqlite or postgres")
        stack.production()
        try:
            stack.start()
            for side in sides:
                for rate in rates:
                    step = run_step(stack, side, rate, args.seconds, args.feeds)
                    if not step.passed:
                        # the machine is shared: a step that fails gets one more try, the better one counts
                        again = run_step(stack, side, rate, args.seconds, args.feeds)
                        again.retried = True
                        step = again if (again.passed, -again.ms(0.99)) > (step.passed, -step.ms(0.99)) else step
                        step.retried = True
                    step.database = database
                    steps.append(step)
                    print(
                        f"  {side:<12} {database:<8} {rate:>6}/s: achieved {step.achieved:7.0f}/s, delivered "
                        f"{step.delivered:6.1%}, p99 {step.ms(0.99):8.1f} ms",
                        file=sys.stderr,
                        flush=True,
                    )
                    if not step.passed and not (args.all_rates and side == "runeventloop"):
                        break  # higher rates only fail harder
        finally:
            stack.close()
            if cluster is not None:
                cluster.close()
    return steps


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument(
        "--rates", default="250,500,1000,2000,3000,4000,5000,6000,8000", help="offered events/s, comma-separated"
    )
    parser.add_argument("--seconds", type=float, default=5.0, help="length of each step (1.5 s of it warm-up)")
    parser.add_argument("--feeds", type=int, default=100, help="feeds in the loop (events per tick)")
    parser.add_argument(
        "--all-rates", action="store_true", help="run every rate even after a failed one (what headroom is there?)"
    )
    parser.add_argument(
        "--database", default="sqlite", help="sqlite, postgres, or both in turn: sqlite,postgres (default sqlite)"
    )
    parser.add_argument("--send-event-worker", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--listen", nargs=2, metavar=("PORT", "PATH"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.listen:
        listen("127.0.0.1", int(args.listen[0]), args.listen[1], LISTENERS)
        return
    if args.send_event_worker:
        send_event_worker(args.seconds)
        return
    rates = [int(r) for r in args.rates.split(",")]
    databases = [d.strip() for d in args.database.split(",") if d.strip()]
    steps: list[Step] = []
    for index, database in enumerate(databases):
        sides = ("runeventloop", "send_event") if index == 0 else ("runeventloop",)
        steps += run_database(database, sides, rates, args)
    print_table(steps, args)


def print_table(steps: list[Step], args: argparse.Namespace) -> None:
    print()
    print(
        f"Throughput into a real Pushpin with {LISTENERS} SSE listeners, {args.seconds:g} s per step, "
        f"{args.feeds} feeds (events per tick), storage on, {os.cpu_count()} CPUs shared"
    )
    header = (
        f"{'publisher':<13}{'database':<10}{'offered/s':>10}{'achieved/s':>11}{'delivered':>10}"
        f"{'p50 ms':>9}{'p99 ms':>9}{'max ms':>9}  ok"
    )
    print(header)
    print("-" * len(header))
    for s in steps:
        print(
            f"{s.side:<13}{s.database:<10}{s.rate:>10}{s.achieved:>11.0f}{s.delivered:>10.1%}"
            f"{s.ms(0.5):>9.1f}{s.ms(0.99):>9.1f}{s.ms(1.0):>9.1f}  {'yes' if s.passed else 'NO'}"
            f"{' (2nd try)' if s.retried else ''}"
        )
    print()
    pairs = sorted({(s.side, s.database) for s in steps}, key=lambda p: (p[0] != "runeventloop", p[1]))
    best = {p: max((s.rate for s in steps if (s.side, s.database) == p and s.passed), default=0) for p in pairs}
    print(
        f"highest offered rate with p99 <= {P99_GOAL_MS:g} ms and everything delivered: "
        + ", ".join(f"{side} on {database} {rate}/s" for (side, database), rate in best.items())
    )


if __name__ == "__main__":
    main()
