"""The scheduler that runs feeds: used by runeventloop and demo_feed.

Two threads with one job each. The scheduler thread calls feeds on drift-free
schedules (tick k of a feed is due at start + k x interval), renders their
components and hands the events to an outbox. The delivery thread takes
everything in the outbox as one batch and publishes it, so a slow or hanging
Pushpin never delays a feed. The outbox keeps only the newest event per
(channel, event): every component event is whole state, so during an outage
memory stays flat and nothing stale is replayed when Pushpin is back.

A stop (SIGTERM, SIGINT, or the end of a bounded run) lets the current tick
finish, then gives delivery one last, bounded attempt at what is pending.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from django.db import close_old_connections

from dashboards_live.feeds import Feed
from dashboards_live.publishing import Event, InvalidEvent, Published, PublishError, make_event

logger = logging.getLogger("dashboards_live.loop")

SLEEP_SLICE = 0.1  # longest sleep between checks of the stop flag (and heartbeats)
STOP_FLUSH_TIMEOUT = 1.5  # after a stop request: SIGTERM to exit stays under 2 s
FAILURE_LOG_CAP = 60.0  # while publishing keeps failing, say so at most this often


def tick_after(start: float, interval: float, now: float) -> int:
    """Index of the first grid tick strictly after `now`."""
    return math.floor((now - start) / interval) + 1


def missed_ticks(due: float, interval: float, now: float) -> int:
    """Grid ticks that passed while a tick due at `due` waited until `now`."""
    if now <= due:
        return 0
    return math.floor((now - due) / interval)


def backoff(attempt: int, base: float, cap: float) -> float:
    """Exponential backoff for the n-th consecutive failure (1-based), capped."""
    return float(min(cap, base * 2 ** max(attempt - 1, 0)))


class Publishes(Protocol):
    timeout: float  # the publisher's own bound on one publish

    def publish(self, events: Sequence[Event], *, timeout: float | None = None) -> list[Published]: ...


@dataclass
class FeedStats:
    ticks: int = 0  # values produced and handed to delivery
    events: int = 0  # events Pushpin accepted
    failures: int = 0  # feed raised, or its value could not be rendered
    publish_failures: int = 0  # deliveries of this feed's events that failed
    skipped: int = 0  # grid ticks missed (loop late, or backing off after a failure)
    overruns: int = 0  # the feed took longer than its interval
    superseded: int = 0  # events replaced by a newer value before they could be delivered
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
class _Pending:
    event: Event
    run: _FeedRun
    queued_at: float


class Outbox:
    """Newest pending event per (channel, event), shared by the two threads."""

    def __init__(self) -> None:
        self.cond = threading.Condition()
        self.pending: dict[tuple[str, str], _Pending] = {}
        self.closed = False

    def put_many(self, items: Sequence[_Pending]) -> None:
        with self.cond:
            for item in items:
                key = (item.event.channel, item.event.name)
                older = self.pending.pop(key, None)
                if older is not None:
                    older.run.stats.superseded += 1
                self.pending[key] = item
            self.cond.notify()

    def take_all(self, timeout: float | None) -> list[_Pending]:
        with self.cond:
            if not self.pending and not self.closed:
                self.cond.wait(timeout)
            items = list(self.pending.values())
            self.pending.clear()
            return items

    def put_back(self, items: Sequence[_Pending]) -> None:
        """Return undelivered items, unless a newer value has replaced them."""
        with self.cond:
            for item in items:
                key = (item.event.channel, item.event.name)
                if key in self.pending:
                    item.run.stats.superseded += 1
                else:
                    self.pending[key] = item

    def wait_closed(self, timeout: float) -> bool:
        with self.cond:
            return self.cond.wait_for(lambda: self.closed, timeout)

    def close(self) -> None:
        with self.cond:
            self.closed = True
            self.cond.notify_all()

    def __len__(self) -> int:
        with self.cond:
            return len(self.pending)


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


class EventLoop:
    def __init__(
        self,
        feeds: Sequence[Feed],
        publisher: Publishes,
        *,
        iterations: int | None = None,
        duration: float | None = None,
        feed_backoff: tuple[float, float] = (0.5, 60.0),
        publish_backoff: tuple[float, float] = (0.1, 1.0),
        stop_flush_timeout: float = STOP_FLUSH_TIMEOUT,
        on_heartbeat: Callable[[float], None] | None = None,
        on_stop: Callable[[], None] | None = None,
        on_tick: Callable[[Feed, float, float], None] | None = None,
        monotonic: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if not feeds:
            raise ValueError("no feeds to run")
        self.feeds = list(feeds)
        self.publisher = publisher
        self.iterations = iterations
        self.duration = duration
        self.feed_backoff = feed_backoff
        self.publish_backoff = publish_backoff
        self.stop_flush_timeout = stop_flush_timeout
        # called on the scheduler thread at least every SLEEP_SLICE while it is
        # alive: a watchdog pinged from here stops when a feed hangs the loop
        self.on_heartbeat = on_heartbeat
        self.on_stop = on_stop
        self.on_tick = on_tick
        self.monotonic = monotonic
        self.sleep = sleep
        self.outbox = Outbox()
        self.runs: list[_FeedRun] = [_FeedRun(feed=f, start=0.0, due=0.0) for f in self.feeds]
        self.shutdown = False
        self.stop_requested_at: float | None = None
        self.last_error: str | None = None
        self.publish_errors_in_row = 0
        self.started_at = 0.0
        self._in_flight: list[_Pending] = []
        self._failing_since = 0.0
        self._next_failure_log = 0.0

    # -- control -----------------------------------------------------------
    def request_stop(self) -> None:
        """Called from signal handlers: the scheduler stops after this tick."""
        if self.stop_requested_at is None:
            self.stop_requested_at = self.monotonic()
        self.shutdown = True

    @property
    def stats(self) -> dict[str, FeedStats]:
        return {r.feed.name: r.stats for r in self.runs}

    @property
    def pending(self) -> int:
        return len(self.outbox) + len(self._in_flight)

    # -- the scheduler -----------------------------------------------------
    def run(self) -> LoopSummary:
        start = self.monotonic()
        self.started_at = start
        for r in self.runs:
            r.start = r.due = start
        end = start + self.duration if self.duration is not None else math.inf
        delivery = threading.Thread(target=self._deliver_forever, name="delivery", daemon=True)
        delivery.start()
        try:
            while not self.shutdown:
                now = self.monotonic()
                if self.on_heartbeat:
                    self.on_heartbeat(now)
                if not delivery.is_alive():
                    raise RuntimeError("the delivery thread died; see the log above")
                active = [r for r in self.runs if self.iterations is None or r.attempts < self.iterations]
                if not active or now >= end:
                    break
                wake = min(min(r.due for r in active), end)
                if now < wake:
                    self.sleep(min(wake - now, SLEEP_SLICE))
                    continue
                # feeds are user code that may use the database for months on end
                close_old_connections()
                batch = [p for r in active if r.due <= now for p in self._run_feed(r, now)]
                if batch:
                    self.outbox.put_many(batch)
        finally:
            if self.on_stop:
                self.on_stop()
            self.outbox.close()
            self._join(delivery)
        return LoopSummary(
            elapsed=self.monotonic() - start,
            stats=self.stats,
            undelivered=self.pending,
            last_error=self.last_error,
            stopped=self.stop_requested_at is not None,
        )

    def _join(self, delivery: threading.Thread) -> None:
        """Wait for the final flush; after a stop request, never past its bound."""
        natural_end = self.monotonic() + self.publisher.timeout + 0.5
        while delivery.is_alive():
            bound = natural_end if self.stop_requested_at is None else self.stop_requested_at + self.stop_flush_timeout
            remaining = bound - self.monotonic()
            if remaining <= 0:
                # a publish still hangs; the daemon thread dies with the process
                logger.warning("gave up waiting for Pushpin: %d event(s) not delivered", self.pending)
                return
            delivery.join(min(remaining, 0.05))

    def _run_feed(self, run: _FeedRun, now: float) -> list[_Pending]:
        feed = run.feed
        began = self.monotonic()
        if self.on_tick:
            self.on_tick(feed, run.due, began)
        run.stats.skipped += missed_ticks(run.due, feed.interval, now)
        run.attempts += 1
        try:
            value = feed.produce()
            state = feed.component.next_state(run.state, value)
            event = make_event(feed.channel, feed.event, feed.component.render(state))
        except Exception as exc:
            self._feed_failed(run, exc, now)
            return []
        took = self.monotonic() - began
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
        return [_Pending(event, run, self.monotonic())]

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
        retry_at = self.monotonic() + wait
        next_grid = run.start + tick_after(run.start, feed.interval, now) * feed.interval
        if retry_at < next_grid:
            run.due = retry_at
        else:
            # back on the grid at the first tick after the backoff; the ones in between are skipped
            k = math.ceil((retry_at - run.start) / feed.interval)
            run.stats.skipped += max(0, k - tick_after(run.start, feed.interval, now))
            run.due = run.start + k * feed.interval

    # -- delivery ----------------------------------------------------------
    def _deliver_forever(self) -> None:
        try:
            retry_at = 0.0
            while not self.outbox.closed:
                wait = retry_at - self.monotonic()
                if wait > 0:
                    self.outbox.wait_closed(wait)
                    continue
                items = self.outbox.take_all(SLEEP_SLICE)
                if items and not self._deliver(items, timeout=None):
                    retry_at = self.monotonic() + backoff(self.publish_errors_in_row, *self.publish_backoff)
            self._final_flush()
        except BaseException:
            logger.critical("the delivery thread crashed", exc_info=True)
            raise

    def _final_flush(self) -> None:
        timeout: float | None = None
        if self.stop_requested_at is not None:
            timeout = self.stop_requested_at + self.stop_flush_timeout - self.monotonic()
            if timeout <= 0:
                return
        items = self.outbox.take_all(0)
        if items and not self._deliver(items, timeout=timeout, final=True):
            logger.warning("%d event(s) not delivered before stopping: %s", len(items), self.last_error)

    def _deliver(self, items: list[_Pending], *, timeout: float | None, final: bool = False) -> bool:
        close_old_connections()
        self._in_flight = items
        try:
            self.publisher.publish([p.event for p in items], timeout=timeout)
        except InvalidEvent as exc:
            self._in_flight = []
            if len(items) > 1:
                # one event Pushpin cannot take must not sink the others with it
                return all([self._deliver([p], timeout=timeout, final=final) for p in items])
            items[0].run.stats.publish_failures += 1
            logger.error("dropped event %r of feed %s: %s", items[0].event.name, items[0].run.feed.name, exc)
            return True
        except Exception as exc:
            self._in_flight = []
            self.last_error = str(exc)
            for p in items:
                p.run.stats.publish_failures += 1
            self.outbox.put_back(items)
            self._publish_failed(exc, final=final)
            return False
        self._in_flight = []
        done = self.monotonic()
        for p in items:
            p.run.stats.events += 1
            p.run.stats.last_latency_ms = (done - p.queued_at) * 1000
        if self.publish_errors_in_row:
            logger.info(
                "publishing works again after %d failed attempt(s) over %.1f s",
                self.publish_errors_in_row,
                done - self._failing_since,
            )
            self.publish_errors_in_row = 0
        return True

    def _publish_failed(self, exc: Exception, *, final: bool) -> None:
        now = self.monotonic()
        self.publish_errors_in_row += 1
        if final:
            return  # the caller reports it once
        if self.publish_errors_in_row == 1:
            self._failing_since = now
            self._next_failure_log = now + 1.0
            if isinstance(exc, PublishError):
                logger.warning("publish failed, retrying (newest event per component kept): %s", exc)
            else:
                logger.error("publish failed, retrying (newest event per component kept)", exc_info=exc)
        elif now >= self._next_failure_log:
            # a long outage says so less and less often, not once per retry
            gap = min(FAILURE_LOG_CAP, 2 * (now - self._failing_since) + 1.0)
            self._next_failure_log = now + gap
            logger.warning(
                "publish still failing after %d attempts over %.0f s (%d event(s) pending): %s",
                self.publish_errors_in_row,
                now - self._failing_since,
                len(self.outbox),
                exc,
            )
