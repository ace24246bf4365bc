"""Tick precision: the EventLoop beside the naive `while True: publish; sleep(interval)` loop.

Ten feeds at mixed intervals (one at 10 Hz), each rendering a Stat or a Chart
and publishing to a real Pushpin with storage on, run for --seconds by each
loop in turn, in one run:

  EventLoop    dashboards_live.running.loop, as runeventloop runs it (drift-free grid,
               publishing on its own threads)
  naive        one thread per feed: produce, publish synchronously, sleep(interval)

plus, first, a bare thread sleeping to a 10 Hz grid with no work at all: the
wake-up jitter of the machine at that moment, which neither loop can beat.

Lateness of a tick is when the feed was called minus when its tick was due
(start + k x interval for the k-th call). Behind at end is the lateness of each
feed's last call: a loop that drifts falls further behind with every tick.

    python -m bench.loop_precision [--seconds 60]
"""

from __future__ import annotations

import argparse
import math
import os
import random
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

if TYPE_CHECKING:
    from collections.abc import Callable

    from dashboards_live.declaring.components import Component
    from dashboards_live.declaring.feeds import Feed

INTERVALS = (0.1, 0.2, 0.25, 0.5, 0.5, 1.0, 1.0, 2.0, 2.5, 5.0)


@dataclass
class FeedRecord:
    interval: float
    calls: list[tuple[float, float]] = field(default_factory=list)  # (due, called)
    wakes: list[float] = field(default_factory=list)  # EventLoop only: due to the scheduler's wake

    @property
    def lateness(self) -> list[float]:
        return [called - due for due, called in self.calls]

    @property
    def behind_at_end(self) -> float:
        """The lateness of the last call: what a drifting loop accumulates."""
        if not self.calls:
            return math.nan
        due, called = self.calls[-1]
        return called - due


def percentile(values: list[float], q: float) -> float:
    return values[min(len(values) - 1, int(q * len(values)))] if values else math.nan


@dataclass
class Result:
    name: str
    seconds: float
    records: list[FeedRecord]

    @property
    def lateness_ms(self) -> list[float]:
        return sorted(lat * 1000 for r in self.records for lat in r.lateness)

    def percentile(self, q: float) -> float:
        return percentile(self.lateness_ms, q)

    @property
    def wake_ms(self) -> list[float]:
        return sorted(w * 1000 for r in self.records for w in r.wakes)

    @property
    def ticks(self) -> int:
        return sum(len(r.calls) for r in self.records)

    @property
    def expected(self) -> int:
        return sum(math.ceil(self.seconds / r.interval) for r in self.records)


def make_feeds(records: list[FeedRecord]) -> list[Feed]:
    from dashboards_live.declaring.components import Chart, Stat
    from dashboards_live.declaring.feeds import make_feed

    feeds = []
    rng = random.Random(1)

    def point() -> float:
        return round(rng.uniform(0, 100), 1)

    def stat() -> dict[str, str]:
        return {"text": f"{rng.uniform(0, 100):.1f}%"}

    for i, record in enumerate(records):
        component: Component = Chart(f"p{i}", window=60) if i % 2 else Stat(f"p{i}")
        produce: Callable[[], object] = point if i % 2 else stat
        feeds.append(make_feed(produce, channel="precision", component=component, every=record.interval, name=f"p{i}"))
        # compile the template now: a first render costs milliseconds, in either loop
        component.render(component.next_state(None, produce()))
    return feeds


def run_event_loop(seconds: float) -> Result:
    from dashboards_live.publishing.delivery import DeliveryEngine
    from dashboards_live.running.loop import EventLoop

    records = [FeedRecord(i) for i in INTERVALS]
    by_name = {f"p{i}": r for i, r in enumerate(records)}
    feeds = make_feeds(records)
    publisher = DeliveryEngine.from_settings()

    def on_tick(feed: Feed, due: float, woke: float, called: float) -> None:
        by_name[feed.name].calls.append((due, called))
        by_name[feed.name].wakes.append(woke - due)

    loop = EventLoop(feeds, publisher, duration=seconds, on_tick=on_tick)
    loop.run()
    publisher.close()
    return Result("EventLoop", seconds, records)


def run_naive(seconds: float) -> Result:
    """The seed's loop, one thread per feed: produce, publish, sleep(interval)."""
    from dashboards_live.contract import make_event
    from dashboards_live.publishing.delivery import DeliveryEngine

    records = [FeedRecord(i) for i in INTERVALS]
    feeds = make_feeds(records)
    start = time.monotonic()
    end = start + seconds

    def run(record: FeedRecord, feed: object) -> None:
        from django.db import connection

        publisher = DeliveryEngine.from_settings()
        state = None
        while time.monotonic() < end:
            due = start + len(record.calls) * record.interval
            record.calls.append((due, time.monotonic()))
            state = feed.component.next_state(state, feed.produce())  # type: ignore[attr-defined]
            publisher.publish([make_event("precision", feed.event, feed.component.render(state))])  # type: ignore[attr-defined]
            time.sleep(record.interval)
        publisher.close()
        connection.close()

    threads = [threading.Thread(target=run, args=(r, f)) for r, f in zip(records, feeds, strict=True)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return Result("naive sleep loop", seconds, records)


def run_bare(seconds: float) -> Result:
    """The floor: one thread sleeping to a 10 Hz grid, no feeds, no publishing (the OS's own jitter)."""
    record = FeedRecord(0.1)
    start = time.monotonic()
    for k in range(math.ceil(seconds / record.interval)):
        due = start + k * record.interval
        while (now := time.monotonic()) < due:
            time.sleep(min(due - now, 0.1))
        record.calls.append((due, time.monotonic()))
        record.wakes.append(now - due)
    return Result("bare sleep, 10 Hz", seconds, [record])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=60.0, help="how long each loop runs (default 60)")
    args = parser.parse_args()

    from tests.support.stack import Stack

    with tempfile.TemporaryDirectory(prefix="bench-precision-") as tmp:
        stack = Stack(Path(tmp))
        try:
            stack.start_pushpin()
            os.environ.update(stack.env)
            import django

            django.setup()
            results = []
            for run in (run_bare, run_event_loop, run_naive):
                print(f"  running {run.__name__} for {args.seconds:g} s ...", file=sys.stderr, flush=True)
                results.append(run(args.seconds))
        finally:
            stack.close()
    print_table(results, args.seconds)


def print_table(results: list[Result], seconds: float) -> None:
    print()
    print(
        f"Tick precision: 10 feeds (every {', '.join(f'{i:g}' for i in INTERVALS)} s), {seconds:g} s per loop, "
        f"publishing to a real Pushpin with storage on, {os.cpu_count()} CPUs shared"
    )
    print("call late = due -> the feed is called; wake late = due -> the scheduler wakes for the batch (ms)")
    header = (
        f"{'loop':<18}{'ticks':>6}{'expected':>9}{'lost':>5}"
        f"{'call p50':>10}{'p99':>8}{'max':>8}{'wake p50':>10}{'p99':>8}{'max':>8}"
        f"{'10 Hz behind':>14}{'worst behind':>14}"
    )
    print(header)
    print("-" * len(header))
    for r in results:
        wakes = r.wake_ms
        wake = (
            f"{percentile(wakes, 0.5):>10.3f}{percentile(wakes, 0.99):>8.3f}{percentile(wakes, 1.0):>8.3f}"
            if wakes
            else f"{'-':>10}{'-':>8}{'-':>8}"
        )
        worst = max(rec.behind_at_end for rec in r.records)
        print(
            f"{r.name:<18}{r.ticks:>6}{r.expected:>9}{r.expected - r.ticks:>5}"
            f"{r.percentile(0.5):>10.3f}{r.percentile(0.99):>8.3f}{r.percentile(1.0):>8.3f}{wake}"
            f"{r.records[0].behind_at_end * 1000:>12.1f}ms{worst * 1000:>12.1f}ms"
        )
    _, loop, naive = results
    print()
    print(
        f"the naive loop lost {naive.expected - naive.ticks} tick(s) and ended "
        f"{naive.records[0].behind_at_end:.3f} s behind at 10 Hz (it drifts by the publish time every tick); "
        f"EventLoop lost {loop.expected - loop.ticks} and its last 10 Hz tick was "
        f"{loop.records[0].behind_at_end * 1000:.2f} ms late (no drift)"
    )


if __name__ == "__main__":
    main()
