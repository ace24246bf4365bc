"""The scheduler that runs feeds: used by runeventloop and demo_feed.

It calls feeds on drift-free schedules (tick k of a feed is due at start + k x
interval), renders their components and hands the events to the delivery
engine's retry policy (delivery.RetryingDelivery), which stores and posts them
on a thread of its own, so a slow or hanging Pushpin never delays a feed.

A stop (SIGTERM, SIGINT) lets the current tick finish, then gives what is
pending one last attempt within STOP_FLUSH_TIMEOUT; the end of a bounded run
gives it the engine's own timeout. Time comes from a Clock: unit tests run the
scheduler in simulated time, with delivery pumped on the same thread.
"""

from __future__ import annotations

import logging
import math
import sys
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from dashboards_live.clock import Clock
from dashboards_live.contract import Event, InvalidEvent
from dashboards_live.declaring.feeds import Feed
from dashboards_live.publishing.delivery import DeliveryEngine, Pending, backoff

logger = logging.getLogger("dashboards_live.running.loop")

SLEEP_SLICE = 0.1  # longest sleep between checks of the stop flag (and heartbeats)
STOP_FLUSH_TIMEOUT = 1.5  # after a stop request: SIGTERM to exit stays under 2 s
SWITCH_INTERVAL = 0.0005  # seconds: the most a waking scheduler waits for the GIL


# a tick run exactly at its due time must count as that tick: (due - start) / interval
# can come out a hair under the whole number in floating point
GRID_EPSILON = 1e-9


def tick_after(start: float, interval: float, now: float) -> int:
    """Index of the first grid tick strictly after `now`."""
    return math.floor((now - start) / interval + GRID_EPSILON) + 1


def missed_ticks(due: float, interval: float, now: float) -> int:
    """Grid ticks that passed while a tick due at `due` waited until `now`."""
    if now <= due:
        return 0
    return math.floor((now - due) / interval)


@dataclass
class FeedStats:
    ticks: int = 0  # values produced and handed to delivery
    events: int = 0  # events Pushpin accepted
    failures: int = 0  # feed raised, or its value could not be rendered
    publish_failures: int = 0  # deliveries of this feed's events that failed
    skipped: int = 0  # grid ticks missed (loop late, or backing off after a failure)
    overruns: int = 0  # the feed took longer than its interval
    superseded: int = 0  # events replaced by a newer value before they could be delivered
    standby: int = 0  # ticks another process ran (--ha: this one did not hold the feed)
    held: bool | None = None  # --ha: whether this process holds the feed now (None without --ha)
    last_latency_ms: float | None = None  # tick to Pushpin's answer, last delivery
    last_error: str | None = None  # the feed's last exception, cleared when it recovers

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


@dataclass
class _FeedRun:
    feed: Feed
    start: float
    due: float
    state: Any = None
    attempts: int = 0
    errors_in_row: int = 0
    stats: FeedStats = field(default_factory=FeedStats)


@dataclass
class LoopSummary:
    elapsed: float
    stats: dict[str, FeedStats]
    undelivered: int
    last_error: str | None
    stopped: bool  # a stop was requested (signal), as opposed to the end of a bounded run

    @property
    def ticks(self) -> int:
        return sum(s.ticks for s in self.stats.values())

    @property
    def events(self) -> int:
        return sum(s.events for s in self.stats.values())

    @property
    def failures(self) -> int:
        return sum(s.failures for s in self.stats.values())

    @property
    def skipped(self) -> int:
        return sum(s.skipped for s in self.stats.values())

    @property
    def failed_feeds(self) -> dict[str, str]:
        return {name: s.last_error for name, s in self.stats.items() if s.last_error is not None}


class Gate(Protocol):
    """Which feeds this process may run now (ha.Leases with --ha)."""

    def holds(self, feed: Feed) -> bool: ...

    def confirm(self) -> bool: ...


class EventLoop:
    def __init__(
        self,
        feeds: Sequence[Feed],
        engine: DeliveryEngine,
        *,
        iterations: int | None = None,
        duration: float | None = None,
        feed_backoff: tuple[float, float] = (0.5, 60.0),
        publish_backoff: tuple[float, float] = (0.1, 1.0),
        stop_flush_timeout: float = STOP_FLUSH_TIMEOUT,
        on_heartbeat: Callable[[float], None] | None = None,
        on_stop: Callable[[], None] | None = None,
        on_tick: Callable[[Feed, float, float, float], None] | None = None,
        before_tick: Callable[[], None] | None = None,
        gate: Gate | None = None,
        phase: Callable[[Feed], float] | None = None,
        initial_state: Callable[[Feed], Any] | None = None,
        threaded: bool = True,
    ) -> None:
        if not feeds:
            raise ValueError("no feeds to run")
        self.feeds = list(feeds)
        self.engine = engine
        self.clock: Clock = engine.clock
        self.iterations = iterations
        self.duration = duration
        self.feed_backoff = feed_backoff
        self.stop_flush_timeout = stop_flush_timeout
        # called on the scheduler thread at least every SLEEP_SLICE while it is
        # alive: a watchdog pinged from here stops when a feed hangs the loop
        self.on_heartbeat = on_heartbeat
        self.on_stop = on_stop
        self.on_tick = on_tick
        # before the feeds of a tick run: the runner drops stale database
        # connections here, for feeds that query the database for months on end
        self.before_tick = before_tick
        # --ha: only feeds the gate says this process holds run; the others stand by
        self.gate = gate
        # where in its interval each feed's ticks fall (--ha: on the wall-clock grid, the same on every host)
        self.phase = phase
        # a feed's state before its first value here (the last stored one: a chart goes on where it was)
        self.initial_state = initial_state
        # False: delivery is pumped on the scheduler's thread (unit tests, in simulated time)
        self.threaded = threaded
        self.delivery = engine.retrying(self, backoff=publish_backoff)
        self.runs: list[_FeedRun] = [_FeedRun(feed=f, start=0.0, due=0.0) for f in self.feeds]
        self.shutdown = False
        self.stop_requested_at: float | None = None
        self.finished_at: float | None = None  # when the scheduler stopped
        self.started_at = 0.0
        self._stats_lock = threading.Lock()

    # -- control -----------------------------------------------------------
    def request_stop(self) -> None:
        """Called from signal handlers: the scheduler stops after this tick."""
        if self.stop_requested_at is None:
            self.stop_requested_at = self.clock.now()
        self.shutdown = True

    @property
    def stats(self) -> dict[str, FeedStats]:
        return {r.feed.name: r.stats for r in self.runs}

    @property
    def pending(self) -> int:
        """Events produced and not yet accepted by Pushpin."""
        return self.delivery.pending

    @property
    def publish_errors_in_row(self) -> int:
        return self.delivery.errors_in_row

    @property
    def last_error(self) -> str | None:
        return self.delivery.last_error

    def deadline(self) -> float | None:
        """Once the scheduler has stopped: until when delivery may go on."""
        if self.stop_requested_at is not None:
            return self.stop_requested_at + self.stop_flush_timeout
        if self.finished_at is not None:
            return self.finished_at + self.engine.timeout
        return None

    # -- the scheduler -----------------------------------------------------
    def run(self) -> LoopSummary:
        delivery: threading.Thread | None = None
        switch_interval = sys.getswitchinterval()
        if self.threaded:
            delivery = threading.Thread(target=self._deliver, name="delivery", daemon=True)
            delivery.start()
            # A thread that wakes waits for the GIL up to the switch interval (5 ms by
            # default) while another runs Python code: the scheduler waking for a tick
            # must not wait that long behind storing or posting.
            sys.setswitchinterval(min(switch_interval, SWITCH_INTERVAL))
        start = self.clock.now()
        self.started_at = start
        for r in self.runs:
            r.start = r.due = start
            offset = self.phase(r.feed) % r.feed.interval if self.phase else 0.0
            if offset:
                r.start = start - offset
                r.due = r.start + r.feed.interval
            if self.gate is not None:
                r.stats.held = False  # its state comes when it is taken over
            elif self.initial_state is not None:
                r.state = self.initial_state(r.feed)
        end = start + self.duration if self.duration is not None else math.inf
        try:
            while not self.shutdown:
                if delivery is None:
                    self.delivery.pump()
                now = self.clock.now()
                if self.on_heartbeat:
                    self.on_heartbeat(now)
                if delivery is not None and not delivery.is_alive():
                    raise RuntimeError("the delivery thread died; see the log above")
                active = [r for r in self.runs if self.iterations is None or r.attempts < self.iterations]
                if not active or now >= end:
                    break
                wake = min(min(r.due for r in active), end)
                if now < wake:
                    self.clock.sleep(min(wake - now, SLEEP_SLICE))
                    continue
                if self.before_tick:
                    self.before_tick()
                # every due feed gives its value first, then all are rendered: a value
                # is taken at its due time, not after the rendering of the feeds before it
                due = [r for r in active if r.due <= now]
                if self.gate is not None:
                    due = self._held(due, now)
                sampled = [(r, self._sample(r, now)) for r in due]
                batch = [p for r, taken in sampled if taken is not None for p in self._render(r, *taken, now)]
                if batch:
                    self.delivery.submit(batch)
        finally:
            sys.setswitchinterval(switch_interval)
            self.finished_at = self.clock.now()
            if self.on_stop:
                self.on_stop()
            deadline = self.deadline()
            assert deadline is not None
            self.delivery.close(deadline, stopping=self.stop_requested_at is not None)
            if delivery is None:
                self.delivery.flush()
            finished = self._join(delivery) if delivery is not None else True
            if finished and self.pending and self.stop_requested_at is not None:
                logger.warning("stopped with %d event(s) not delivered: %s", self.pending, self.last_error)
        return LoopSummary(
            elapsed=self.clock.now() - start,
            stats=self.stats,
            undelivered=self.pending,
            last_error=self.last_error,
            stopped=self.stop_requested_at is not None,
        )

    def _deliver(self) -> None:
        try:
            self.delivery.run_until_closed()
            self.delivery.flush()
        except BaseException:
            logger.critical("the delivery thread crashed", exc_info=True)
            raise

    def _join(self, delivery: threading.Thread) -> bool:
        """Wait for the final flush, never past the deadline (which a stop request can bring forward).

        False if delivery was still hanging and was left behind (and said so).
        """
        while delivery.is_alive():
            deadline = self.deadline()
            if self.stop_requested_at is not None and deadline is not None:
                self.delivery.close(deadline, stopping=True)  # a stop during the final flush
            remaining = (deadline if deadline is not None else math.inf) + 0.1 - self.clock.now()
            if remaining <= 0:
                # a publish still hangs; the daemon thread dies with the process
                logger.warning("gave up waiting for Pushpin: %d event(s) not delivered", self.pending)
                return False
            delivery.join(min(remaining, 0.05))
        return True

    def _held(self, due: list[_FeedRun], now: float) -> list[_FeedRun]:
        """The due feeds this process holds; the others' ticks pass (another process runs them)."""
        assert self.gate is not None
        # one round trip confirms the lease just before publishing, so a lost one publishes nothing
        confirmed = any(self.gate.holds(r.feed) for r in due) and self.gate.confirm()
        out = []
        for r in due:
            holds = confirmed and self.gate.holds(r.feed)
            if holds and not r.stats.held:
                # taken over: go on from the state the last holder stored
                r.state = self.initial_state(r.feed) if self.initial_state else None
            r.stats.held = holds
            if holds:
                out.append(r)
            else:
                r.stats.standby += 1
                r.due = r.start + tick_after(r.start, r.feed.interval, now) * r.feed.interval
        return out

    def _sample(self, run: _FeedRun, now: float) -> tuple[Any, float] | None:
        """Call the feed: (its value, seconds the call took), or None if it raised."""
        feed = run.feed
        began = self.clock.now()
        if self.on_tick:
            self.on_tick(feed, run.due, now, began)  # due, scheduler woke, feed called
        run.stats.skipped += missed_ticks(run.due, feed.interval, now)
        run.attempts += 1
        try:
            value = feed.produce()
        except Exception as exc:
            self._feed_failed(run, exc, now)
            return None
        return value, self.clock.now() - began

    def _render(self, run: _FeedRun, value: Any, produce_took: float, now: float) -> list[Pending]:
        """The component's next state and its event; a value it cannot render counts as a failure."""
        feed = run.feed
        began = self.clock.now()
        try:
            state = feed.component.next_state(run.state, value)
            component = feed.component
            event = Event(
                feed.channel, feed.event, component.render(state), component.stored_state(state), component.whole_state
            )
        except Exception as exc:
            self._feed_failed(run, exc, now)
            return []
        took = produce_took + self.clock.now() - began
        if took > feed.interval:
            run.stats.overruns += 1
            logger.warning("feed %s took %.3f s, longer than its %.3f s interval", feed.name, took, feed.interval)
        if run.errors_in_row:
            logger.info("feed %s recovered after %s failure(s)", feed.name, run.errors_in_row)
        run.errors_in_row = 0
        run.stats.last_error = None
        run.state = state
        run.stats.ticks += 1
        run.due = run.start + tick_after(run.start, feed.interval, now) * feed.interval
        return [Pending(event, run, self.clock.now())]

    def _feed_failed(self, run: _FeedRun, exc: Exception, now: float) -> None:
        feed = run.feed
        run.stats.failures += 1
        run.stats.last_error = f"{type(exc).__name__}: {exc}"
        run.errors_in_row += 1
        wait = backoff(run.errors_in_row, *self.feed_backoff)
        logger.error(
            "feed %s failed (%s in a row), retrying in %.1f s: %s",
            feed.name,
            run.errors_in_row,
            wait,
            run.stats.last_error,
            exc_info=not isinstance(exc, InvalidEvent),
        )
        retry_at = self.clock.now() + wait
        next_grid = run.start + tick_after(run.start, feed.interval, now) * feed.interval
        if retry_at < next_grid:
            run.due = retry_at
        else:
            # back on the grid at the first tick after the backoff; the ones in between are skipped
            k = math.ceil((retry_at - run.start) / feed.interval - GRID_EPSILON)
            run.stats.skipped += max(0, k - tick_after(run.start, feed.interval, now))
            run.due = run.start + k * feed.interval

    # -- what delivery reports (delivery.Listener), counted per feed ----------
    def superseded(self, item: Pending) -> None:
        with self._stats_lock:
            item.origin.stats.superseded += 1

    def failed(self, items: Sequence[Pending]) -> None:
        with self._stats_lock:
            for p in items:
                p.origin.stats.publish_failures += 1

    def dropped(self, item: Pending, error: InvalidEvent) -> None:
        with self._stats_lock:
            item.origin.stats.publish_failures += 1
        logger.error("dropped event %r of feed %s: %s", item.event.name, item.origin.feed.name, error)

    def delivered(self, items: Sequence[Pending], at: float) -> None:
        with self._stats_lock:
            for p in items:
                p.origin.stats.events += 1
                p.origin.stats.last_latency_ms = (at - p.queued_at) * 1000
