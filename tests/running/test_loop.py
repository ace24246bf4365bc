"""The scheduler, in simulated time: delivery is pumped on the scheduler's thread, Pushpin is a fake."""

from __future__ import annotations

import itertools
import re
import threading
from collections.abc import Callable, Iterator, Sequence

import pytest

from dashboards_live.clock import SYSTEM_CLOCK
from dashboards_live.contract import Event, InvalidEvent, Published
from dashboards_live.declaring.components import Chart, Stat
from dashboards_live.declaring.feeds import Feed, make_feed
from dashboards_live.publishing.delivery import DeliveryEngine, backoff
from dashboards_live.publishing.encoding import MAX_ITEMS_PER_POST
from dashboards_live.running.loop import EventLoop, LoopSummary, missed_ticks, tick_after
from tests.support.clock import SimClock
from tests.support.fakes import FakeStore, FakeTransport


class Rig:
    """A simulated clock, a fake store and a fake Pushpin, and an engine over them."""

    def __init__(self, store: FakeStore | None = None) -> None:
        self.clock = SimClock()
        self.store = store or FakeStore()
        self.pushpin = FakeTransport(self.clock)
        self.engine = DeliveryEngine(self.store, self.pushpin, clock=self.clock)
        self.t0 = self.clock.now()

    def loop(self, feeds: Sequence[Feed], **options: object) -> EventLoop:
        return EventLoop(feeds, self.engine, threaded=False, **options)  # type: ignore[arg-type]

    def run(self, feeds: Sequence[Feed], **options: object) -> tuple[EventLoop, LoopSummary]:
        loop = self.loop(feeds, **options)
        return loop, loop.run()


def counter(start: int = 0) -> Callable[[], int]:
    n = iter(range(start, 10**9))
    return lambda: next(n)


def stat_values(events: Sequence[tuple[str, str]]) -> list[int]:
    return [int(re.search(r'stat-text">(\d+)<', data).group(1)) for _, data in events]  # type: ignore[union-attr]


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
    rig = Rig()
    feeds = [
        make_feed(counter(), channel="c", component=Stat("a"), every=0.1, name="a"),
        make_feed(counter(), channel="c", component=Chart("b"), every=0.1, name="b"),
    ]
    _, summary = rig.run(feeds, iterations=3)
    assert summary.ticks == 6 and summary.events == 6 and summary.undelivered == 0
    assert [sorted(name for name, _ in b) for b in rig.pushpin.batches] == [["a", "b"]] * 3


def test_ticks_do_not_drift_even_when_each_tick_takes_time() -> None:
    rig = Rig()
    times: list[float] = []

    def slow() -> int:
        times.append(rig.clock.now())
        rig.clock.advance(0.015)  # a naive sleep(interval) loop would drift by this every tick
        return 1

    rig.run([make_feed(slow, channel="c", component=Stat("a"), every=0.05)], iterations=11)
    assert [round(t - times[0], 9) for t in times] == [round(0.05 * k, 9) for k in range(11)]


def test_a_raising_feed_is_retried_with_backoff_and_others_keep_their_rate() -> None:
    rig = Rig()
    calls: list[float] = []

    def broken() -> int:
        calls.append(rig.clock.now())
        raise RuntimeError("boom")

    feeds = [
        make_feed(broken, channel="c", component=Stat("bad"), every=0.01, name="bad"),
        make_feed(counter(), channel="c", component=Stat("good"), every=0.02, name="good"),
    ]
    _, summary = rig.run(feeds, duration=0.4, feed_backoff=(0.05, 0.2))
    gaps = [round(b - a, 6) for a, b in itertools.pairwise(calls)]
    assert gaps == [0.05, 0.1, 0.2]  # backing off, not every 10 ms
    assert summary.stats["bad"].failures == len(calls)
    good = summary.stats["good"]
    assert good.failures == 0 and good.skipped == 0 and good.ticks == 20  # every 20 ms tick of 400 ms
    assert summary.stats["bad"].skipped > 0


def test_publish_failures_keep_only_the_newest_event_per_key_and_recover() -> None:
    rig = Rig(FakeStore(stored=True))
    rig.pushpin.down = True
    loop = rig.loop([make_feed(counter(), channel="c", component=Stat("a"), every=0.01)], publish_backoff=(0.02, 0.05))
    pending_while_down: list[int] = []

    def back() -> None:
        pending_while_down.append(loop.pending)
        rig.pushpin.down = False

    rig.clock.at(rig.t0 + 0.3, back)
    rig.clock.at(rig.t0 + 0.45, loop.request_stop)
    loop.run()
    # 30 ticks produced while down: one stored batch waiting, one newest value in the outbox
    assert pending_while_down == [2]
    values = stat_values(rig.pushpin.events)
    assert values[0] == 0  # the batch stored when Pushpin went away, posted with the same ids
    assert values[1] >= 29  # then the newest value at once, not the ticks in between
    assert values == sorted(values) and len(values) < 20
    assert [p.id for p in rig.store.appended] == list(range(1, len(rig.store.appended) + 1))
    assert rig.store.withdrawn == []  # the retry policy keeps what it stored
    assert loop.stats[loop.feeds[0].name].publish_failures > 0


def test_stop_flushes_what_is_pending_within_the_bound() -> None:
    rig = Rig()
    rig.pushpin.fail = lambda attempt: attempt == 1
    loop = rig.loop([make_feed(counter(), channel="c", component=Stat("a"), every=10)], publish_backoff=(5, 5))
    stopped_at: list[float] = []

    def stop() -> None:
        stopped_at.append(rig.clock.now())
        loop.request_stop()

    rig.clock.at(rig.t0 + 0.2, stop)
    summary = loop.run()
    assert summary.events == 1 and summary.undelivered == 0 and summary.stopped
    assert rig.clock.now() - stopped_at[0] == pytest.approx(0.0, abs=0.11)  # no waiting out the 5 s backoff


def test_overrun_is_counted() -> None:
    rig = Rig()

    def slow() -> int:
        rig.clock.advance(0.03)
        return 1

    _, summary = rig.run([make_feed(slow, channel="c", component=Stat("a"), every=0.01)], iterations=2)
    assert summary.stats["slow"].overruns == 2


def test_the_final_flush_is_bounded_by_what_is_left_of_the_stop_budget() -> None:
    rig = Rig()
    rig.pushpin.down = True
    loop = rig.loop(
        [make_feed(counter(), channel="c", component=Stat("a"), every=10)],
        publish_backoff=(5, 5),
        stop_flush_timeout=1.0,
    )

    def back_and_stop() -> None:
        rig.pushpin.down = False
        loop.request_stop()

    rig.clock.at(rig.t0 + 0.2, back_and_stop)  # posting now backs off for 5 s
    loop.run()
    assert len(rig.pushpin.events) == 1  # the final flush delivered what the backoff held
    assert rig.pushpin.timeouts[0] == pytest.approx(5.0)  # normal publishes get the transport's own timeout
    assert rig.pushpin.timeouts[-1] == pytest.approx(1.0, abs=0.11)  # the last, what is left of the stop budget


def test_a_bounded_run_flushes_with_the_transports_own_timeout() -> None:
    rig = Rig()
    _, summary = rig.run([make_feed(counter(), channel="c", component=Stat("a"), every=10)], iterations=1)
    assert summary.events == 1 and not summary.stopped
    assert rig.pushpin.timeouts == [pytest.approx(5.0)]


def test_a_bounded_run_retries_until_the_transports_timeout_after_its_end() -> None:
    rig = Rig()
    rig.pushpin.down = True
    _, summary = rig.run(
        [make_feed(counter(), channel="c", component=Stat("a"), every=10)], iterations=1, publish_backoff=(1, 1)
    )
    assert summary.undelivered == 1 and rig.pushpin.attempts == 5  # at 0, 1, 2, 3 and 4 s; 5 s is the deadline
    assert summary.last_error == "Pushpin is not reachable (test)"


def test_newer_values_supersede_pending_ones_and_are_counted() -> None:
    rig = Rig()
    rig.pushpin.down = True
    loop = rig.loop(
        [make_feed(counter(), channel="c", component=Stat("a"), every=0.01, name="a")],
        publish_backoff=(1, 1),
        stop_flush_timeout=0.2,
    )
    rig.clock.at(rig.t0 + 0.3, loop.request_stop)
    loop.run()
    stats = loop.stats["a"]
    assert stats.ticks == 30 and stats.superseded == stats.ticks - 2
    assert loop.pending == 2


def test_one_event_pushpin_refuses_does_not_sink_the_rest_of_its_batch() -> None:
    class Picky(FakeStore):
        def append(self, events: Sequence[Event]) -> list[Published]:
            if any(e.name == "big" for e in events):
                raise InvalidEvent("pushpin-size", "too big (test)")
            return super().append(events)

    rig = Rig(Picky())
    feeds = [
        make_feed(counter(), channel="c", component=Stat("big"), every=1, name="big"),
        make_feed(counter(), channel="c", component=Stat("small"), every=1, name="small"),
    ]
    _, summary = rig.run(feeds, iterations=1)
    assert [name for name, _ in rig.pushpin.events] == ["small"]
    assert summary.stats["big"].publish_failures == 1 and summary.undelivered == 0


def test_a_failed_store_puts_the_events_back_and_is_retried() -> None:
    rig = Rig(FakeStore(stored=True))
    rig.store.down = True
    loop = rig.loop([make_feed(counter(), channel="c", component=Stat("a"), every=0.05)], publish_backoff=(0.1, 0.1))
    rig.clock.at(rig.t0 + 0.32, lambda: setattr(rig.store, "down", False))
    rig.clock.at(rig.t0 + 0.5, loop.request_stop)
    loop.run()
    values = stat_values(rig.pushpin.events)
    # nothing was stored while the database was down; the newest value went first once it was back
    assert values[0] >= 6 and values == sorted(values)
    assert [p.id for p in rig.store.appended] == list(range(1, len(values) + 1))
    assert loop.stats[loop.feeds[0].name].publish_failures >= 3


def test_storage_is_refreshed_before_each_batch_and_before_tick_before_each_tick() -> None:
    rig = Rig()
    ticks: list[float] = []
    rig.run(
        [make_feed(counter(), channel="c", component=Stat("a"), every=0.1)],
        iterations=3,
        before_tick=lambda: ticks.append(rig.clock.now()),
    )
    assert [round(t - rig.t0, 6) for t in ticks] == [0.0, 0.1, 0.2]
    assert rig.store.refreshes == 3


def test_heartbeats_stop_while_a_feed_hangs_the_scheduler() -> None:
    rig = Rig()
    beats: list[float] = []

    def stuck() -> int:
        rig.clock.advance(0.5)
        return 1

    rig.run([make_feed(stuck, channel="c", component=Stat("a"), every=0.05)], iterations=2, on_heartbeat=beats.append)
    gaps = [round(b - a, 6) for a, b in itertools.pairwise(beats)]
    # a watchdog pinged from here would go quiet, so systemd would restart a hung loop
    assert gaps == [0.5, 0.5]  # nothing while each call hangs (the second tick is already due)


def test_on_tick_sees_the_due_time_the_wake_time_and_the_call_time() -> None:
    rig = Rig()
    seen: list[tuple[float, float, float]] = []
    rig.run(
        [make_feed(counter(), channel="c", component=Stat("a"), every=0.02)],
        iterations=5,
        on_tick=lambda feed, due, woke, at: seen.append((due, woke, at)),
    )
    assert len(seen) == 5
    dues = [d for d, _, _ in seen]
    assert [round(b - a, 6) for a, b in itertools.pairwise(dues)] == [0.02] * 4
    assert all(due <= woke <= at for due, woke, at in seen)


def test_a_dead_delivery_thread_stops_the_scheduler() -> None:
    engine = DeliveryEngine(FakeStore(), FakeTransport(), clock=SimClock())
    loop = EventLoop([make_feed(counter(), channel="c", component=Stat("a"), every=0.01)], engine)
    loop._deliver = lambda: None  # type: ignore[method-assign]  # delivery ends only once closed; this one quits
    with pytest.raises(RuntimeError, match="delivery thread died"):
        loop.run()


def test_a_feed_failure_is_remembered_until_it_recovers() -> None:
    results: Iterator[int | Exception] = iter([1, RuntimeError("boom"), 3])

    def flaky() -> int:
        value = next(results)
        if isinstance(value, Exception):
            raise value
        return value

    rig = Rig()
    _, summary = rig.run([make_feed(flaky, channel="c", component=Stat("a"), every=0.01)], iterations=2)
    assert summary.failed_feeds == {"flaky": "RuntimeError: boom"}
    _, summary = rig.run(
        [make_feed(flaky, channel="c", component=Stat("a"), every=0.01)], iterations=1, feed_backoff=(0.01, 0.01)
    )
    assert summary.failed_feeds == {}


def test_long_publish_outages_are_logged_less_and_less_often(caplog: pytest.LogCaptureFixture) -> None:
    rig = Rig()
    rig.pushpin.down = True
    loop = rig.loop(
        [make_feed(counter(), channel="c", component=Stat("a"), every=0.01)],
        publish_backoff=(0.01, 0.01),
        stop_flush_timeout=0.1,
    )
    rig.clock.at(rig.t0 + 30, loop.request_stop)
    with caplog.at_level("WARNING", logger="dashboards_live.publishing.delivery"):
        loop.run()
    failures = [r.getMessage() for r in caplog.records if "publishing" in r.getMessage()]
    assert rig.pushpin.attempts > 2000  # retried all along
    # the first failure, then "still failing" at growing gaps (1, 4 and 13 s after it)
    assert len(failures) == 4 and "still failing after" in failures[-1]


def test_a_big_batch_is_posted_in_requests_and_a_failed_request_alone_is_retried() -> None:
    rig = Rig()
    rig.pushpin.fail = lambda attempt: attempt == 2
    n = MAX_ITEMS_PER_POST * 2 + 20
    feeds = [make_feed(counter(), channel="c", component=Stat(f"k{i}"), every=1, name=f"f{i:03d}") for i in range(n)]
    _, summary = rig.run(feeds, iterations=1, publish_backoff=(0.01, 0.01))
    assert [len(b) for b in rig.pushpin.batches] == [MAX_ITEMS_PER_POST, MAX_ITEMS_PER_POST, 20]
    # every event once, in order: the first request was not posted again after the second failed
    assert [name for name, _ in rig.pushpin.events] == [f"k{i}" for i in range(n)]
    assert summary.events == n and summary.undelivered == 0


def test_due_feeds_give_their_values_before_any_is_rendered() -> None:
    rig = Rig()
    calls: list[tuple[str, float]] = []

    class SlowStat(Stat):
        def render(self, state: object) -> str:
            rig.clock.advance(0.02)  # a heavy component
            return super().render(state)

    def recorded(name: str) -> Callable[[], int]:
        def produce() -> int:
            calls.append((name, rig.clock.now()))
            return 1

        produce.__name__ = name
        return produce

    feeds = [make_feed(recorded(f"f{i}"), channel="c", component=SlowStat(f"k{i}"), every=1) for i in range(5)]
    rig.run(feeds, iterations=1)
    # five renders of 20 ms each: a loop that rendered as it went would call the last feed 80 ms late
    assert {t for _, t in calls} == {rig.t0}


def test_a_stop_while_pushpin_refuses_makes_one_more_attempt_not_a_busy_loop(
    caplog: pytest.LogCaptureFixture,
) -> None:
    rig = Rig()
    rig.pushpin.down = True
    loop = rig.loop([make_feed(counter(), channel="c", component=Stat("a"), every=0.05)], stop_flush_timeout=0.5)
    attempts: list[int] = []

    def stop() -> None:
        attempts.append(rig.pushpin.attempts)
        loop.request_stop()

    rig.clock.at(rig.t0 + 0.3, stop)
    with caplog.at_level("WARNING", logger="dashboards_live.running.loop"):
        loop.run()
    assert rig.pushpin.attempts - attempts[0] == 1  # one last try
    assert loop.pending >= 1
    assert re.search(r"stopped with \d event\(s\) not delivered: Pushpin is not reachable \(test\)", caplog.text)


def test_stop_with_a_hanging_pushpin_leaves_the_delivery_thread_behind(caplog: pytest.LogCaptureFixture) -> None:
    """The threaded path, in real time but with no timing bound: the stop does not wait for a hanging post."""
    entered, release = threading.Event(), threading.Event()

    class Hanging(FakeTransport):
        def post(self, body: bytes, deadline: float) -> None:
            entered.set()
            release.wait(30)  # Pushpin accepted the connection and never answers
            super().post(body, deadline)

    engine = DeliveryEngine(FakeStore(), Hanging(SYSTEM_CLOCK), clock=SYSTEM_CLOCK)
    loop = EventLoop(
        [make_feed(counter(), channel="c", component=Stat("a"), every=0.05)], engine, stop_flush_timeout=0.2
    )
    result: list[LoopSummary] = []
    thread = threading.Thread(target=lambda: result.append(loop.run()))
    with caplog.at_level("WARNING", logger="dashboards_live.running.loop"):
        thread.start()
        assert entered.wait(10)
        loop.request_stop()
        thread.join(10)
        finished = not thread.is_alive()
        release.set()
    assert finished and result[0].stopped and result[0].undelivered >= 1
    assert "gave up waiting for Pushpin" in caplog.text
