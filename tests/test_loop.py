from __future__ import annotations

import itertools
import re
import threading
import time
from collections.abc import Sequence

import pytest

from dashboards_live.components import Chart, Stat
from dashboards_live.feeds import make_feed
from dashboards_live.loop import EventLoop, backoff, missed_ticks, tick_after
from dashboards_live.publishing import Event, Published, PublishError


class FakePublisher:
    """Records batches; fails while `down` is set (a unit-test stand-in for Pushpin)."""

    def __init__(self) -> None:
        self.batches: list[list[Event]] = []
        self.down = False
        self.attempts = 0
        self.timeout = 5.0

    def publish(self, events: Sequence[Event]) -> list[Published]:
        self.attempts += 1
        if self.down:
            raise PublishError("Pushpin is not reachable (test)")
        self.batches.append(list(events))
        return [Published(e, None) for e in events]

    @property
    def events(self) -> list[Event]:
        return [e for b in self.batches for e in b]


def counter(start: int = 0):
    n = iter(range(start, 10**9))
    return lambda: next(n)


def test_tick_after_is_on_the_grid() -> None:
    assert tick_after(100.0, 0.5, 100.0) == 1
    assert tick_after(100.0, 0.5, 100.49) == 1
    assert tick_after(100.0, 0.5, 100.5) == 2
    assert tick_after(100.0, 0.5, 101.7) == 4


def test_missed_ticks_counts_whole_intervals() -> None:
    assert missed_ticks(10.0, 1.0, 9.0) == 0
    assert missed_ticks(10.0, 1.0, 10.9) == 0
    assert missed_ticks(10.0, 1.0, 13.2) == 3


def test_backoff_doubles_and_is_capped() -> None:
    assert [backoff(n, 0.5, 3.0) for n in range(1, 6)] == [0.5, 1.0, 2.0, 3.0, 3.0]


def test_iterations_run_each_feed_n_times_and_batch_same_moment_events() -> None:
    pub = FakePublisher()
    feeds = [
        make_feed(counter(), channel="c", component=Stat("a"), every=0.02, name="a"),
        make_feed(counter(), channel="c", component=Chart("b"), every=0.02, name="b"),
    ]
    summary = EventLoop(feeds, pub, iterations=3).run()
    assert summary.ticks == 6 and summary.events == 6 and summary.undelivered == 0
    assert [sorted(e.name for e in b) for b in pub.batches] == [["a", "b"]] * 3


def test_ticks_do_not_drift_even_when_each_tick_takes_time() -> None:
    pub = FakePublisher()
    times: list[float] = []

    def slow() -> int:
        times.append(time.monotonic())
        time.sleep(0.015)  # a naive sleep(interval) loop would drift by this every tick
        return 1

    EventLoop([make_feed(slow, channel="c", component=Stat("a"), every=0.05)], pub, iterations=11).run()
    # tick 10 is due 0.5 s after tick 0; drift would add 10 x 15 ms
    assert times[10] - times[0] == pytest.approx(0.5, abs=0.04)


def test_a_raising_feed_is_retried_with_backoff_and_others_keep_their_rate() -> None:
    pub = FakePublisher()
    calls: list[float] = []

    def broken() -> int:
        calls.append(time.monotonic())
        raise RuntimeError("boom")

    feeds = [
        make_feed(broken, channel="c", component=Stat("bad"), every=0.01, name="bad"),
        make_feed(counter(), channel="c", component=Stat("good"), every=0.02, name="good"),
    ]
    loop = EventLoop(feeds, pub, duration=0.4, feed_backoff=(0.05, 0.2))
    summary = loop.run()
    gaps = [b - a for a, b in itertools.pairwise(calls)]
    assert gaps[0] >= 0.045 and gaps[1] >= 0.095  # backing off, not every 10 ms
    assert summary.stats["bad"].failures == len(calls)
    assert summary.stats["good"].ticks >= 18  # 0.4 s at 20 ms
    assert summary.stats["bad"].skipped > 0


def test_publish_failures_keep_only_the_newest_event_per_key_and_recover() -> None:
    pub = FakePublisher()
    pub.down = True
    loop = EventLoop(
        [make_feed(counter(), channel="c", component=Stat("a"), every=0.01)],
        pub,
        publish_backoff=(0.02, 0.05),
    )
    thread = threading.Thread(target=loop.run)
    thread.start()
    time.sleep(0.3)
    assert len(loop.outbox) <= 1  # 30 ticks produced, one kept
    pub.down = False
    time.sleep(0.15)
    loop.request_stop()
    thread.join(3)
    assert not thread.is_alive()
    first = pub.events[0]
    value = re.search(r'stat-text">(\d+)<', first.data)
    assert value is not None and int(value.group(1)) >= 20  # a late value, not tick 0
    assert loop.stats[loop.feeds[0].name].publish_failures > 0


def test_stop_flushes_what_is_pending_within_the_bound() -> None:
    pub = FakePublisher()
    loop = EventLoop([make_feed(counter(), channel="c", component=Stat("a"), every=10)], pub)
    thread = threading.Thread(target=loop.run)
    thread.start()
    time.sleep(0.2)
    began = time.monotonic()
    loop.request_stop()
    thread.join(3)
    assert time.monotonic() - began < 0.5
    assert len(pub.events) == 1


def test_overrun_is_counted() -> None:
    pub = FakePublisher()

    def slow() -> int:
        time.sleep(0.03)
        return 1

    summary = EventLoop([make_feed(slow, channel="c", component=Stat("a"), every=0.01)], pub, iterations=2).run()
    assert summary.stats["slow"].overruns == 2
