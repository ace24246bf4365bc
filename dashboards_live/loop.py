"""The scheduler that runs feeds: used by runeventloop and demo_feed.

Two threads with one job each, so a slow or hanging Pushpin never delays a feed:

- the scheduler calls feeds on drift-free schedules (tick k of a feed is due at
  start + k x interval), renders their components and hands the events to an
  outbox;
- the delivery thread takes everything in the outbox as one batch, stores it
  (the events get their ids) and posts it to Pushpin, MAX_EVENTS_PER_POST
  events per request, retrying each request with backoff until it goes through.

A stored batch is posted before the next one is stored. Pushpin checks each
listener's ids against every item's previous id and, on a mismatch, sends the
listener back to Django, which replays from storage: events stored well ahead
of their posting would make every such recovery overshoot and trigger the
next. So during an outage one stored batch waits (retried with the same ids),
and new values pile up in the outbox, which keeps only the newest event per
(channel, event). Every component event is whole state, so memory stays flat
and, when Pushpin is back, the latest state goes out right behind that batch.

A stop (SIGTERM, SIGINT) lets the current tick finish, then gives what is
pending one last attempt within STOP_FLUSH_TIMEOUT; the end of a bounded run
gives it the publisher's own timeout.
"""

from __future__ import annotations

import logging
import math
import sys
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
SWITCH_INTERVAL = 0.0005  # seconds: the most a waking scheduler waits for the GIL
# Pushpin queues at most 100 items per listener (PUBLISH_QUEUE_MAX in its handler)
# and drops the rest, which sends every listener back to Django to recover: a
# publish request carries at most half that, so the queues drain between requests.
MAX_EVENTS_PER_POST = 50


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
    # the exponent is bounded: months of failures must not overflow a float
    return float(min(cap, base * 2.0 ** min(max(attempt - 1, 0), 64)))


class Publishes(Protocol):
    timeout: float  # the publisher's own bound on one delivery

    def store_events(self, events: Sequence[Event]) -> list[Published]: ...

    def deliver(self, published: Sequence[Published], *, timeout: float | None = None) -> None: ...


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


class Trouble:
    """Consecutive failures of one kind, logged at growing intervals during a long outage."""

    def __init__(self, what: str, monotonic: Callable[[], float]) -> None:
        self.what = what
        self.monotonic = monotonic
        self.in_row = 0
        self.since = 0.0
        self.next_log = 0.0

    def failed(self, exc: Exception, pending: int) -> None:
        now = self.monotonic()
        self.in_row += 1
        if self.in_row == 1:
            self.since = now
            self.next_log = now + 1.0
            if isinstance(exc, PublishError):
                logger.warning("%s failed, retrying (newest event per component kept): %s", self.what, exc)
            else:
                logger.error("%s failed, retrying (newest event per component kept)", self.what, exc_info=exc)
        elif now >= self.next_log:
            self.next_log = now + min(FAILURE_LOG_CAP, 2 * (now - self.since) + 1.0)
            logger.warning(
                "%s still failing after %d attempts over %.0f s (%d event(s) pending): %s",
                self.what,
                self.in_row,
                now - self.since,
                pending,
                exc,
            )

    def recovered(self) -> None:
        if self.in_row:
            logger.info(
                "%s works again after %d failed attempt(s) over %.1f s",
                self.what,
                self.in_row,
                self.monotonic() - self.since,
            )
            self.in_row = 0


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
        on_tick: Callable[[Feed, float, float, float], None] | None = None,
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
        self.finished_at: float | None = None  # when the scheduler stopped
        self.last_error: str | None = None
        self.started_at = 0.0
        self.store_trouble = Trouble("storing events", monotonic)
        self.post_trouble = Trouble("publishing", monotonic)
        self._storing: list[_Pending] = []
        self._posting: list[_Pending] = []
        self._given_up: list[_Pending] = []
        self._stats_lock = threading.Lock()

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
        """Events produced and not yet accepted by Pushpin."""
        return len(self.outbox) + len(self._storing) + len(self._posting) + len(self._given_up)

    @property
    def publish_errors_in_row(self) -> int:
        return self.post_trouble.in_row + self.store_trouble.in_row

    def deadline(self) -> float | None:
        """Once the scheduler has stopped: until when delivery may go on."""
        if self.stop_requested_at is not None:
            return self.stop_requested_at + self.stop_flush_timeout
        if self.finished_at is not None:
            return self.finished_at + self.publisher.timeout
        return None

    # -- the scheduler -----------------------------------------------------
    def run(self) -> LoopSummary:
        delivery = threading.Thread(target=self._deliver_forever, name="delivery", daemon=True)
        delivery.start()
        # A thread that wakes waits for the GIL up to the switch interval (5 ms by
        # default) while another runs Python code: the scheduler waking for a tick
        # must not wait that long behind storing or posting.
        switch_interval = sys.getswitchinterval()
        sys.setswitchinterval(min(switch_interval, SWITCH_INTERVAL))
        start = self.monotonic()
        self.started_at = start
        for r in self.runs:
            r.start = r.due = start
        end = start + self.duration if self.duration is not None else math.inf
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
                # every due feed gives its value first, then all are rendered: a value
                # is taken at its due time, not after the rendering of the feeds before it
                due = [r for r in active if r.due <= now]
                sampled = [(r, self._sample(r, now)) for r in due]
                batch = [p for r, taken in sampled if taken is not None for p in self._render(r, *taken, now)]
                if batch:
                    self.outbox.put_many(batch)
        finally:
            sys.setswitchinterval(switch_interval)
            self.finished_at = self.monotonic()
            if self.on_stop:
                self.on_stop()
            self.outbox.close()
            if self._join(delivery) and self.pending and self.stop_requested_at is not None:
                logger.warning("stopped with %d event(s) not delivered: %s", self.pending, self.last_error)
        return LoopSummary(
            elapsed=self.monotonic() - start,
            stats=self.stats,
            undelivered=self.pending,
            last_error=self.last_error,
            stopped=self.stop_requested_at is not None,
        )

    def _join(self, delivery: threading.Thread) -> bool:
        """Wait for the final flush, never past the deadline (which a stop request can bring forward).

        False if delivery was still hanging and was left behind (and said so).
        """
        while delivery.is_alive():
            deadline = self.deadline()
            remaining = (deadline if deadline is not None else math.inf) + 0.1 - self.monotonic()
            if remaining <= 0:
                # a publish still hangs; the daemon thread dies with the process
                logger.warning("gave up waiting for Pushpin: %d event(s) not delivered", self.pending)
                return False
            delivery.join(min(remaining, 0.05))
        return True

    def _sample(self, run: _FeedRun, now: float) -> tuple[Any, float] | None:
        """Call the feed: (its value, seconds the call took), or None if it raised."""
        feed = run.feed
        began = self.monotonic()
        if self.on_tick:
            self.on_tick(feed, run.due, now, began)  # due, scheduler woke, feed called
        run.stats.skipped += missed_ticks(run.due, feed.interval, now)
        run.attempts += 1
        try:
            value = feed.produce()
        except Exception as exc:
            self._feed_failed(run, exc, now)
            return None
        return value, self.monotonic() - began

    def _render(self, run: _FeedRun, value: Any, produce_took: float, now: float) -> list[_Pending]:
        """The component's next state and its event; a value it cannot render counts as a failure."""
        feed = run.feed
        began = self.monotonic()
        try:
            state = feed.component.next_state(run.state, value)
            event = make_event(feed.channel, feed.event, feed.component.render(state))
        except Exception as exc:
            self._feed_failed(run, exc, now)
            return []
        took = produce_took + self.monotonic() - began
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
                if items and not self._deliver(items):
                    retry_at = self.monotonic() + backoff(self.store_trouble.in_row, *self.publish_backoff)
            items = self.outbox.take_all(0)  # what the last tick produced
            deadline = self.deadline()
            if items and deadline is not None and self.monotonic() < deadline:
                self._deliver(items)
        except BaseException:
            logger.critical("the delivery thread crashed", exc_info=True)
            raise

    def _deliver(self, items: list[_Pending]) -> bool:
        """Store the batch, then post it; False when storing failed (the items went back to the outbox)."""
        stored = self._store(items)
        if stored is None:
            return False
        for kept, published in stored:
            self._post(kept, published)
        return True

    def _store(self, items: list[_Pending]) -> list[tuple[list[_Pending], list[Published]]] | None:
        close_old_connections()
        self._storing = items
        try:
            published = self.publisher.store_events([p.event for p in items])
        except InvalidEvent as exc:
            self._storing = []
            if len(items) > 1:
                # one event Pushpin cannot take must not sink the others with it
                parts = [self._store([p]) for p in items]
                return [part for result in parts if result for part in result]
            with self._stats_lock:
                items[0].run.stats.publish_failures += 1
            logger.error("dropped event %r of feed %s: %s", items[0].event.name, items[0].run.feed.name, exc)
            return []
        except Exception as exc:
            self._storing = []
            self.last_error = str(exc)
            with self._stats_lock:
                for p in items:
                    p.run.stats.publish_failures += 1
            self.outbox.put_back(items)
            self.store_trouble.failed(exc, self.pending)
            return None
        self._storing = []
        self.store_trouble.recovered()
        return [(items, published)]

    def _post(self, items: list[_Pending], published: list[Published]) -> None:
        """Post a stored batch in order, a chunk at a time; each chunk is retried until it goes through."""
        self._posting = items
        try:
            for start in range(0, len(items), MAX_EVENTS_PER_POST):
                end = start + MAX_EVENTS_PER_POST
                if not self._post_chunk(items[start:end], published[start:end]):
                    self._given_up += items[start:]  # the deadline passed: counted as undelivered
                    return
                self._posting = items[end:]
        finally:
            self._posting = []

    def _post_chunk(self, items: list[_Pending], published: list[Published]) -> bool:
        """Deliver with backoff until Pushpin accepts (True) or the deadline passes (False).

        After a stop request there is one more attempt, not a retry loop: a
        refusing Pushpin answers at once, and the stop must not spin on it.
        """
        tried_after_stop = False
        while True:
            deadline = self.deadline()
            timeout = None if deadline is None else deadline - self.monotonic()
            if timeout is not None and timeout <= 0:
                return False
            if self.stop_requested_at is not None:
                if tried_after_stop:
                    return False
                tried_after_stop = True
            try:
                self.publisher.deliver(published, timeout=timeout)
            except Exception as exc:
                self.last_error = str(exc)
                with self._stats_lock:
                    for p in items:
                        p.run.stats.publish_failures += 1
                self.post_trouble.failed(exc, self.pending)
                self._pause(backoff(self.post_trouble.in_row, *self.publish_backoff))
                continue
            done = self.monotonic()
            with self._stats_lock:
                for p in items:
                    p.run.stats.events += 1
                    p.run.stats.last_latency_ms = (done - p.queued_at) * 1000
            self.post_trouble.recovered()
            return True

    def _pause(self, seconds: float) -> None:
        """Sleep before a retry; a stop cuts it short (one last attempt follows at once)."""
        until = self.monotonic() + seconds
        while self.stop_requested_at is None and (now := self.monotonic()) < until:
            time.sleep(min(until - now, 0.02))
