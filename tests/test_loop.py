from __future__ import annotations

import itertools
import re
import threading
import time
from collections.abc import Iterator, Sequence

import pytest

from dashboards_live.components import Chart, Stat
from dashboards_live.feeds import make_feed
from dashboards_live.loop import EventLoop, backoff, missed_ticks, tick_after
from dashboards_live.publishing import Event, Published, PublishError


class FakePublisher:
    """Records delivered batches; fails while `down` is set (a unit-test stand-in for Pushpin)."""

    def __init__(self) -> None:
        self.batches: list[list[Event]] = []
        self.down = False
        self.attempts = 0
        self.timeout = 5.0
        self.timeouts: list[float | None] = []

    def store_events(self, events: Sequence[Event]) -> list[Published]:
        return [Published(e, None) for e in events]

    def deliver(self, published: Sequence[Published], *, timeout: float | None = None) -> None:
        self.attempts += 1
        self.timeouts.append(timeout)
        if self.down:
            raise PublishError("Pushpin is not reachable (test)")
        self.batches.append([p.event for p in published])

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
    assert backoff(10**7, 0.1, 1.0) == 1.0  # a months-long outage


def test_iterations_run_each_feed_n_times_and_batch_same_moment_events() -> None:
    pub = FakePublisher()
    feeds = [
        make_feed(counter(), channel="c", component=Stat("a"), every=0.1, name="a"),
        make_feed(counter(), channel="c", component=Chart("b"), every=0.1, name="b"),
    ]
    Stat("a").render("warm up the template cache")
    Chart("b").render([1.0])
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
    Stat("good").render("warm the template cache, so no tick runs late")
    loop = EventLoop(feeds, pub, duration=0.4, feed_backoff=(0.05, 0.2))
    summary = loop.run()
    gaps = [b - a for a, b in itertools.pairwise(calls)]
    assert gaps[0] >= 0.045 and gaps[1] >= 0.095  # backing off, not every 10 ms
    assert summary.stats["bad"].failures == len(calls)
    good = summary.stats["good"]
    # every 20 ms grid tick of the good feed ran or was counted as skipped (a
    # busy machine may stall the process; the raising feed's backoff never does)
    assert good.failures == 0 and good.ticks + good.skipped >= 18 and good.ticks > 0
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
    # 30 ticks produced: one newest value in the outbox, one stored batch waiting
    assert len(loop.outbox) <= 1 and loop.pending <= 2
    pub.down = False
    time.sleep(0.15)
    loop.request_stop()
    thread.join(3)
    assert not thread.is_alive()
    values = [int(re.search(r'stat-text">(\d+)<', e.data).group(1)) for e in pub.events]  # type: ignore[union-attr]
    assert values[0] < 5  # the batch stored when Pushpin went away, posted with the same ids
    assert values[1] >= 20  # then the newest value at once, not the ticks in between
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


class HangingPublisher(FakePublisher):
    """Accepts the call and does not return for `hang` seconds: Pushpin that never answers."""

    def __init__(self, hang: float) -> None:
        super().__init__()
        self.hang = hang

    def deliver(self, published: Sequence[Published], *, timeout: float | None = None) -> None:
        self.timeouts.append(timeout)
        time.sleep(min(self.hang, timeout) if timeout is not None else self.hang)
        raise PublishError("no answer (test)")


def test_stop_with_a_hanging_pushpin_returns_within_the_flush_bound() -> None:
    pub = HangingPublisher(hang=5)
    loop = EventLoop([make_feed(counter(), channel="c", component=Stat("a"), every=0.05)], pub, stop_flush_timeout=0.5)
    thread = threading.Thread(target=loop.run)
    thread.start()
    time.sleep(0.2)  # the first publish now hangs
    began = time.monotonic()
    loop.request_stop()
    thread.join(3)
    assert not thread.is_alive()
    assert time.monotonic() - began < 0.8


def test_the_final_flush_is_bounded_by_what_is_left_of_the_stop_budget() -> None:
    pub = FakePublisher()
    loop = EventLoop(
        [make_feed(counter(), channel="c", component=Stat("a"), every=10)],
        pub,
        publish_backoff=(5, 5),
        stop_flush_timeout=1.0,
    )
    pub.down = True
    thread = threading.Thread(target=loop.run)
    thread.start()
    time.sleep(0.2)  # first attempt failed; posting now backs off for 5 s
    pub.down = False
    loop.request_stop()
    thread.join(3)
    assert len(pub.events) == 1  # the final flush delivered what the backoff held
    assert pub.timeouts[0] is None  # normal publishes use the publisher's own timeout
    final = pub.timeouts[-1]
    assert final is not None and 0.5 < final <= 1.0


def test_a_bounded_run_flushes_with_the_publishers_own_timeout() -> None:
    pub = FakePublisher()
    summary = EventLoop([make_feed(counter(), channel="c", component=Stat("a"), every=10)], pub, iterations=1).run()
    assert summary.events == 1 and not summary.stopped
    # the last tick's events get the publisher's whole timeout, not the shorter stop budget
    assert all(t is None or 4.5 < t <= pub.timeout for t in pub.timeouts)


def test_newer_values_supersede_pending_ones_and_are_counted() -> None:
    pub = FakePublisher()
    pub.down = True
    loop = EventLoop(
        [make_feed(counter(), channel="c", component=Stat("a"), every=0.01, name="a")],
        pub,
        publish_backoff=(1, 1),
        stop_flush_timeout=0.2,
    )
    thread = threading.Thread(target=loop.run)
    thread.start()
    time.sleep(0.3)
    loop.request_stop()
    thread.join(3)
    stats = loop.stats["a"]
    assert stats.superseded >= stats.ticks - 2
    assert 1 <= loop.pending <= 2


def test_one_event_pushpin_refuses_does_not_sink_the_rest_of_its_batch() -> None:
    from dashboards_live.publishing import InvalidEvent

    class Picky(FakePublisher):
        def store_events(self, events: Sequence[Event]) -> list[Published]:
            if any(e.name == "big" for e in events):
                raise InvalidEvent("pushpin-size", "too big (test)")
            return super().store_events(events)

    pub = Picky()
    feeds = [
        make_feed(counter(), channel="c", component=Stat("big"), every=1, name="big"),
        make_feed(counter(), channel="c", component=Stat("small"), every=1, name="small"),
    ]
    summary = EventLoop(feeds, pub, iterations=1).run()
    assert [e.name for e in pub.events] == ["small"]
    assert summary.stats["big"].publish_failures == 1 and summary.undelivered == 0


def test_heartbeats_stop_while_a_feed_hangs_the_scheduler() -> None:
    beats: list[float] = []

    def stuck() -> int:
        time.sleep(0.5)
        return 1

    pub = FakePublisher()
    loop = EventLoop(
        [make_feed(stuck, channel="c", component=Stat("a"), every=0.05)],
        pub,
        iterations=1,
        on_heartbeat=beats.append,
    )
    loop.run()
    gaps = [b - a for a, b in itertools.pairwise(beats)]
    # a watchdog pinged from here would go quiet, so systemd would restart a hung loop
    assert max(gaps) >= 0.45


def test_on_tick_sees_the_due_time_the_wake_time_and_the_call_time() -> None:
    seen: list[tuple[float, float]] = []
    pub = FakePublisher()
    EventLoop(
        [make_feed(counter(), channel="c", component=Stat("a"), every=0.02)],
        pub,
        iterations=5,
        on_tick=lambda feed, due, woke, at: seen.append((due, at)) if woke <= at else None,
    ).run()
    assert len(seen) == 5
    dues = [d for d, _ in seen]
    assert [round(b - a, 6) for a, b in itertools.pairwise(dues)] == [0.02] * 4
    assert all(at >= due for due, at in seen)


def test_a_dead_delivery_thread_stops_the_scheduler() -> None:
    loop = EventLoop([make_feed(counter(), channel="c", component=Stat("a"), every=0.01)], FakePublisher())

    def die() -> None:
        return  # delivery ends only after the outbox closes; this one quits early

    loop._deliver_forever = die  # type: ignore[method-assign]
    with pytest.raises(RuntimeError, match="delivery thread died"):
        loop.run()


def test_a_feed_failure_is_remembered_until_it_recovers() -> None:
    results: Iterator[int | Exception] = iter([1, RuntimeError("boom"), 3])

    def flaky() -> int:
        value = next(results)
        if isinstance(value, Exception):
            raise value
        return value

    pub = FakePublisher()
    loop = EventLoop([make_feed(flaky, channel="c", component=Stat("a"), every=0.01)], pub, iterations=2)
    summary = loop.run()
    assert summary.failed_feeds == {"flaky": "RuntimeError: boom"}
    loop = EventLoop(
        [make_feed(flaky, channel="c", component=Stat("a"), every=0.01)], pub, iterations=1, feed_backoff=(0.01, 0.01)
    )
    assert loop.run().failed_feeds == {}


def test_long_publish_outages_are_logged_less_and_less_often(caplog: pytest.LogCaptureFixture) -> None:
    pub = FakePublisher()
    pub.down = True
    loop = EventLoop(
        [make_feed(counter(), channel="c", component=Stat("a"), every=0.01)],
        pub,
        publish_backoff=(0.01, 0.01),
        stop_flush_timeout=0.1,
    )
    thread = threading.Thread(target=loop.run)
    with caplog.at_level("WARNING", logger="dashboards_live.loop"):
        thread.start()
        time.sleep(1.5)
        loop.request_stop()
        thread.join(3)
    failures = [r for r in caplog.records if "publish" in r.getMessage() and "fail" in r.getMessage()]
    assert pub.attempts > 50  # retried all along
    assert 2 <= len(failures) <= 4  # first failure, then "still failing" at growing gaps


def test_a_big_batch_is_posted_in_chunks_and_a_failed_chunk_alone_is_retried() -> None:
    from dashboards_live.loop import MAX_EVENTS_PER_POST

    class FailsOnce(FakePublisher):
        def deliver(self, published: Sequence[Published], *, timeout: float | None = None) -> None:
            if len(self.batches) == 1 and not self.down and self.attempts == 1:
                self.attempts += 1
                raise PublishError("refused once (test)")
            super().deliver(published, timeout=timeout)

    n = MAX_EVENTS_PER_POST * 2 + 20
    feeds = [make_feed(counter(), channel="c", component=Stat(f"k{i}"), every=1, name=f"f{i:03d}") for i in range(n)]
    pub = FailsOnce()
    summary = EventLoop(feeds, pub, iterations=1, publish_backoff=(0.01, 0.01)).run()
    assert [len(b) for b in pub.batches] == [MAX_EVENTS_PER_POST, MAX_EVENTS_PER_POST, 20]
    # every event once, in order: the first chunk was not posted again after the second failed
    assert [e.name for e in pub.events] == [f"k{i}" for i in range(n)]
    assert summary.events == n and summary.undelivered == 0


def test_due_feeds_give_their_values_before_any_is_rendered() -> None:
    calls: list[tuple[str, float]] = []

    class SlowStat(Stat):
        def render(self, state: object) -> str:
            time.sleep(0.02)  # a heavy component
            return super().render(state)

    def recorded(name: str):
        def produce() -> int:
            calls.append((name, time.monotonic()))
            return 1

        produce.__name__ = name
        return produce

    feeds = [make_feed(recorded(f"f{i}"), channel="c", component=SlowStat(f"k{i}"), every=1) for i in range(5)]
    EventLoop(feeds, FakePublisher(), iterations=1).run()
    # five renders of 20 ms each: a loop that rendered as it went would call the last feed 80 ms late
    assert calls[-1][1] - calls[0][1] < 0.04


def test_a_stop_while_pushpin_refuses_makes_one_more_attempt_not_a_busy_loop(
    caplog: pytest.LogCaptureFixture,
) -> None:
    pub = FakePublisher()
    pub.down = True
    loop = EventLoop([make_feed(counter(), channel="c", component=Stat("a"), every=0.05)], pub, stop_flush_timeout=0.5)
    thread = threading.Thread(target=loop.run)
    thread.start()
    time.sleep(0.3)
    attempts = pub.attempts
    with caplog.at_level("WARNING", logger="dashboards_live.loop"):
        loop.request_stop()
        thread.join(3)
    assert pub.attempts - attempts <= 2  # the one in progress, then one last try
    assert loop.pending >= 1
    assert re.search(r"stopped with \d event\(s\) not delivered: Pushpin is not reachable \(test\)", caplog.text)
