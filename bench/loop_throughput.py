"""Throughput: events a second one publishing process sustains into a real Pushpin with 10 SSE listeners.

Side by side in one run, on the same Pushpin, gunicorn and SQLite database:
  runeventloop   one `manage.py runeventloop` process running BENCH_FEEDS feeds (bench/feeds.py)
  send_event     one process calling django-eventstream's send_event once per event, paced the same way

For each offered rate (stepped up until a side fails) ten SSE listeners count
the events and measure publish-to-receive latency (the producer stamps
CLOCK_MONOTONIC into each value). A step passes when p99 <= 100 ms and the
listeners received at least 99% of what was produced at >= 95% of the offered
rate. Usage:

    python -m bench.loop_throughput [--rates 500,1000,2000,4000,6000,8000] [--seconds 4] [--feeds 100]
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import json
import os
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.support.stack import PYTHON, Stack  # noqa: E402

STAMP = re.compile(rb"at (\d+\.\d{6})<")
LISTENERS = int(os.environ.get("BENCH_LISTENERS", "10"))
P99_GOAL_MS = 100.0
WARMUP = 0.5  # seconds at the start of each step left out of the latency figures


@dataclass
class Listener:
    """One SSE connection through Pushpin, read on its own thread."""

    url: str
    latencies: list[float] = field(default_factory=list)
    stamps: list[float] = field(default_factory=list)
    opened: threading.Event = field(default_factory=threading.Event)
    conn: http.client.HTTPConnection | None = None

    def start(self) -> None:
        threading.Thread(target=self._read, daemon=True).start()

    def close(self) -> None:
        if self.conn is not None and self.conn.sock is not None:
            with contextlib.suppress(OSError):
                self.conn.sock.shutdown(socket.SHUT_RDWR)

    def _read(self) -> None:
        host, port, path = re.match(r"http://([^:/]+):(\d+)(/.*)", self.url).groups()  # type: ignore[union-attr]
        self.conn = conn = http.client.HTTPConnection(host, int(port), timeout=30)
        conn.request("GET", path, headers={"Accept": "text/event-stream"})
        response = conn.getresponse()
        assert response.status == 200, response.status
        tail = b""
        while True:
            try:
                chunk = response.read1(65536)
            except (OSError, http.client.HTTPException):
                break
            if not chunk:
                break
            now = time.monotonic()
            if b"stream-open" in chunk:
                self.opened.set()
            data = tail + chunk
            cut = data.rfind(b"\n\n") + 2
            complete, tail = data[:cut], data[cut:]
            self.stamps.extend(float(m) for m in STAMP.findall(complete))
            self.latencies.extend(now - stamp for stamp in self.stamps[len(self.latencies) :])
        conn.close()


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


@dataclass
class Step:
    side: str
    rate: int
    produced: int
    elapsed: float
    received: list[int]
    samples: list[tuple[float, float]]  # (stamp, latency) of every event every listener received

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
    channel = f"tp-{side.replace('_', '-')}-{rate}"
    listeners = [Listener(stack.url(f"/events/{channel}/")) for _ in range(LISTENERS)]
    for listener in listeners:
        listener.start()
    for listener in listeners:
        assert listener.opened.wait(10), "a listener did not open its stream"
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
    deadline = time.monotonic() + 3
    while time.monotonic() < deadline and min(len(x.latencies) for x in listeners) < produced:
        time.sleep(0.05)
    for listener in listeners:
        listener.close()
    return Step(
        side,
        rate,
        produced,
        elapsed,
        [len(x.latencies) for x in listeners],
        [pair for x in listeners for pair in zip(x.stamps, x.latencies, strict=False)],
    )


def send_event_worker(seconds: float) -> None:
    """The naive publisher: send_event once per event, on the same schedule as the feeds."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()
    from django_eventstream import send_event
    from django_grip import _get_pubcontrol

    from bench import feeds as bench_feeds
    from dashboards_live.components import Stat

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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rates", default="500,1000,2000,4000,6000,8000", help="offered events/s, comma-separated")
    parser.add_argument("--seconds", type=float, default=4.0, help="length of each step")
    parser.add_argument("--feeds", type=int, default=100, help="feeds in the loop (events per tick)")
    parser.add_argument("--send-event-worker", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.send_event_worker:
        send_event_worker(args.seconds)
        return
    rates = [int(r) for r in args.rates.split(",")]
    steps: list[Step] = []
    with tempfile.TemporaryDirectory(prefix="bench-throughput-") as tmp:
        stack = Stack(Path(tmp))
        try:
            stack.start()
            for side in ("runeventloop", "send_event"):
                for rate in rates:
                    step = run_step(stack, side, rate, args.seconds, args.feeds)
                    steps.append(step)
                    print(
                        f"  {side:<12} {rate:>6}/s: achieved {step.achieved:7.0f}/s, delivered "
                        f"{step.delivered:6.1%}, p99 {step.ms(0.99):8.1f} ms",
                        file=sys.stderr,
                        flush=True,
                    )
                    if not step.passed:
                        break  # higher rates only fail harder
        finally:
            stack.close()
    print_table(steps, args)


def print_table(steps: list[Step], args: argparse.Namespace) -> None:
    print()
    print(
        f"Throughput into a real Pushpin with {LISTENERS} SSE listeners, {args.seconds:g} s per step, "
        f"{args.feeds} feeds (events per tick), storage on (SQLite), {os.cpu_count()} CPUs shared"
    )
    header = (
        f"{'publisher':<13}{'offered/s':>10}{'achieved/s':>11}{'delivered':>10}"
        f"{'p50 ms':>9}{'p99 ms':>9}{'max ms':>9}  ok"
    )
    print(header)
    print("-" * len(header))
    for s in steps:
        print(
            f"{s.side:<13}{s.rate:>10}{s.achieved:>11.0f}{s.delivered:>10.1%}"
            f"{s.ms(0.5):>9.1f}{s.ms(0.99):>9.1f}{s.ms(1.0):>9.1f}  {'yes' if s.passed else 'NO'}"
        )
    print()
    sides = ("runeventloop", "send_event")
    best = {side: max((s.rate for s in steps if s.side == side and s.passed), default=0) for side in sides}
    ratio = f" ({best['runeventloop'] / best['send_event']:.1f}x)" if best["send_event"] else ""
    print(
        f"highest offered rate with p99 <= {P99_GOAL_MS:g} ms and everything delivered: "
        f"runeventloop {best['runeventloop']}/s, send_event {best['send_event']}/s{ratio}"
    )


if __name__ == "__main__":
    main()
