"""The scheduler that runs feeds: used by runeventloop and demo_feed.

Two threads with one job each. The scheduler thread calls feeds on drift-free
schedules (tick k of a feed is due at start + k x interval), renders their
components and hands the events to an outbox. The delivery thread takes
everything in the outbox as one batch and publishes it, so a slow or hanging
Pushpin never delays a feed. The outbox keeps only the newest event per
(channel, event): every component event is whole state, so during an outage
memory stays flat and nothing stale is replayed when Pushpin is back.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from dashboards_live.feeds import Feed
from dashboards_live.publishing import Event, InvalidEvent, Published, PublishError, make_event

logger = logging.getLogger("dashboards_live.loop")

SLEEP_SLICE = 0.1  # longest sleep between checks of the stop flag


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
    def publish(self, events: Sequence[Event]) -> list[Published]: ...


@dataclass
class FeedStats:
    ticks: int = 0  # values produced and handed to delivery
    events: int = 0  # events Pushpin accepted
    failures: int = 0  # feed raised, or its value could not be rendered
    publish_failures: int = 0  # deliveries of this feed's events that failed
    skipped: int = 0  # grid ticks missed (loop late, or backing off after a failure)
    overruns: int = 0  # the feed took longer than its interval
    last_latency_ms: float | None = None  # hand-off to Pushpin's answer, last delivery

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
                self.pending[(item.event.channel, item.event.name)] = item
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
                self.pending.setdefault((item.event.channel, item.event.name), item)

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

    @property
    def ticks(self) -> int:
        return sum(s.ticks for s in self.stats.values())

    @property
    def events(self) -> int:
        return sum(s.events for s in self.stats.values())

    @property
    def failures(self) -> int:
        return sum(s.failures for s in self.stats.values())


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
        stop_flush_timeout: float = 1.5,
        status_every: float = 0,
        on_status: Callable[[EventLoop], None] | None = None,
        on_heartbeat: Callable[[], None] | None = None,
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
        self.status_every = status_every
        self.on_status = on_status
        self.on_heartbeat = on_heartbeat
        self.on_tick = on_tick
        self.monotonic = monotonic
        self.sleep = sleep
        self.outbox = Outbox()
        self.runs: list[_FeedRun] = []
        self.shutdown = False
        self.last_error: str | None = None
        self.publish_errors_in_row = 0
        self.started_at = 0.0
        self._stats_lock = threading.Lock()

    # -- control -----------------------------------------------------------
    def request_stop(self) -> None:
        """Called from signal handlers: the scheduler stops after this tick."""
        self.shutdown = True

    @property
    def stats(self) -> dict[str, FeedStats]:
        return {r.feed.name: r.stats for r in self.runs}

    # -- the scheduler -----------------------------------------------------
    def run(self) -> LoopSummary:
        start = self.monotonic()
        self.started_at = start
        self.runs = [_FeedRun(feed=f, start=start, due=start) for f in self.feeds]
        end = start + self.duration if self.duration is not None else math.inf
        next_status = start + self.status_every if self.status_every > 0 else math.inf
        delivery = threading.Thread(target=self._deliver_forever, name="delivery", daemon=True)
        delivery.start()
        try:
            while not self.shutdown:
                if self.on_heartbeat:
                    self.on_heartbeat()
                now = self.monotonic()
                active = [r for r in self.runs if self.iterations is None or r.attempts < self.iterations]
                if not active or now >= end:
                    break
                if now >= next_status:
                    next_status += self.status_every * (tick_after(next_status, self.status_every, now))
                    if self.on_status:
                        self.on_status(self)
                wake = min(min(r.due for r in active), end, next_status)
                if now < wake:
                    self.sleep(min(wake - now, SLEEP_SLICE))
                    continue
                batch = [p for r in active if r.due <= now for p in self._run_feed(r, now)]
                if batch:
                    self.outbox.put_many(batch)
        finally:
            self.outbox.close()
            delivery.join(self.stop_flush_timeout + 0.5)
        return LoopSummary(
            elapsed=self.monotonic() - start,
            stats=self.stats,
            undelivered=len(self.outbox),
            last_error=self.last_error,
        )

    def _run_feed(self, run: _FeedRun, now: float) -> list[_Pending]:
        feed = run.feed
        if self.on_tick:
            self.on_tick(feed, run.due, now)
        run.stats.skipped += missed_ticks(run.due, feed.interval, now)
        run.attempts += 1
        began = self.monotonic()
        try:
            value = feed.produce()
            state = feed.component.next_state(run.state, value)
            event = make_event(feed.channel, feed.event, feed.component.render(state))
        except Exception as exc:
            run.stats.failures += 1
            run.errors_in_row += 1
            wait = backoff(run.errors_in_row, *self.feed_backoff)
            logger.error(
                "feed %s failed (%s in a row), retrying in %.1f s",
                feed.name,
                run.errors_in_row,
                wait,
                exc_info=not isinstance(exc, InvalidEvent),
            )
            retry_at = self.monotonic() + wait
            next_grid = run.start + tick_after(run.start, feed.interval, now) * feed.interval
            if retry_at < next_grid:
                run.due = retry_at
            else:
                k = math.ceil((retry_at - run.start) / feed.interval)
                run.stats.skipped += max(0, k - tick_after(run.start, feed.interval, now))
                run.due = run.start + k * feed.interval
            return []
        took = self.monotonic() - began
        if took > feed.interval:
            run.stats.overruns += 1
            logger.warning("feed %s took %.3f s, longer than its %.3f s interval", feed.name, took, feed.interval)
        if run.errors_in_row:
            logger.info("feed %s recovered after %s failure(s)", feed.name, run.errors_in_row)
        run.errors_in_row = 0
        run.state = state
        run.stats.ticks += 1
        run.due = run.start + tick_after(run.start, feed.interval, now) * feed.interval
        return [_Pending(event, run, self.monotonic())]

    # -- delivery ----------------------------------------------------------
    def _deliver_forever(self) -> None:
        retry_at = 0.0
        while True:
            closed = self.outbox.closed
            if closed:
                # one last attempt, bounded, for what the final tick produced
                self._deliver(self.outbox.take_all(0), final=True)
                return
            wait = retry_at - self.monotonic()
            if wait > 0:
                self.outbox.wait_closed(wait)
                continue
            items = self.outbox.take_all(SLEEP_SLICE)
            if items and not self._deliver(items, final=False):
                self.publish_errors_in_row += 1
                retry_at = self.monotonic() + backoff(self.publish_errors_in_row, *self.publish_backoff)

    def _deliver(self, items: list[_Pending], *, final: bool) -> bool:
        if not items:
            return True
        began = self.monotonic()
        try:
            if final and hasattr(self.publisher, "timeout"):
                self.publisher.timeout = min(self.publisher.timeout, self.stop_flush_timeout)
            self.publisher.publish([p.event for p in items])
        except (PublishError, InvalidEvent, Exception) as exc:
            self.last_error = str(exc)
            with self._stats_lock:
                for p in items:
                    p.run.stats.publish_failures += 1
            if isinstance(exc, InvalidEvent):
                logger.error("dropped %d event(s) Pushpin cannot take: %s", len(items), exc)
                return True
            if isinstance(exc, PublishError):
                logger.warning("publish failed (%d event(s) kept, newest per event): %s", len(items), exc)
            else:
                logger.exception("publish failed (%d event(s) kept, newest per event)", len(items))
            self.outbox.put_back(items)
            return False
        done = self.monotonic()
        with self._stats_lock:
            for p in items:
                p.run.stats.events += 1
                p.run.stats.last_latency_ms = (done - began) * 1000
        if self.publish_errors_in_row:
            logger.info("publishing works again after %d failed attempt(s)", self.publish_errors_in_row)
            self.publish_errors_in_row = 0
        return True
