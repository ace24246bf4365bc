"""The delivery engine: every producer's one door to storage and Pushpin.

Every event goes the same way: check it fits Pushpin's body limit, store it
(reliable channels get their ids, so a reconnecting browser can replay and a
late page render the last value), encode it once, post it in the requests the
batching rule makes. What happens when a step fails is the caller's policy:

- fail fast (`DeliveryEngine.publish`: sendevent, push from user code): one
  attempt within a timeout; whatever no Pushpin took is withdrawn from storage,
  so nothing is half-published, and the caller gets a PublishError.
- retry (`RetryingDelivery`: the loop): keep the newest value per component
  (every component event is whole state), retry with backoff until Pushpin
  takes it; nothing is withdrawn, because the same stored batch is posted again.

A stored batch is posted before the next is stored. Pushpin checks each
listener's ids against every item's previous id and, on a mismatch, sends the
listener back to Django, which replays from storage: events stored well ahead
of their posting would make every such recovery overshoot and trigger the
next. So during an outage one stored batch waits (retried with the same ids)
and new values pile up in the outbox, newest per (channel, event).

Time comes from a Clock, storage is a Store and Pushpin a Posts, all handed in:
unit tests drive the engine in simulated time with stand-ins for both.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Literal, Protocol

from dashboards_live.clock import SYSTEM_CLOCK, Clock
from dashboards_live.contract import Event, InvalidEvent, Published
from dashboards_live.errors import PublishError
from dashboards_live.publishing.encoding import (
    batch_sizes,
    body_of,
    browser_event_id,
    check_size,
    encode_item,
    export_item,
    sse_frame,
)
from dashboards_live.publishing.storage import EventStore, Store

logger = logging.getLogger("dashboards_live.publishing.delivery")

SLEEP_SLICE = 0.1  # longest wait between checks for new events or a stop
FAILURE_LOG_CAP = 60.0  # while publishing keeps failing, say so at most this often


class Posts(Protocol):
    """Pushpin, as the engine sees it (transport.Transport; a stand-in in unit tests)."""

    timeout: float  # the bound on one delivery when the caller gives none

    def post(self, body: bytes, deadline: float) -> None: ...

    def end_streams(self, user_id: str, marker: str, text: str) -> None: ...

    def ping(self) -> None: ...

    def close(self) -> None: ...


def backoff(attempt: int, base: float, cap: float) -> float:
    """Exponential backoff for the n-th consecutive failure (1-based), capped."""
    # the exponent is bounded: months of failures must not overflow a float
    return float(min(cap, base * 2.0 ** min(max(attempt - 1, 0), 64)))


class DeliveryEngine:
    """Store, then post; one per process is enough."""

    def __init__(self, store: Store, transport: Posts, *, clock: Clock = SYSTEM_CLOCK, shared: bool = True) -> None:
        self.store = store
        self.transport = transport
        self.clock = clock
        self.shared = shared  # encoding.export_item: one frame for every subscriber

    @classmethod
    def from_settings(cls, *, timeout: float | None = None) -> DeliveryEngine:
        """The real engine: django-eventstream's storage and every configured Pushpin (ConfigError if misconfigured)."""
        from dashboards_live.conf import shared_frames
        from dashboards_live.publishing.transport import Transport

        return cls(EventStore(), Transport.from_settings(timeout), shared=shared_frames())

    @property
    def timeout(self) -> float:
        return self.transport.timeout

    def close(self) -> None:
        self.transport.close()

    # -- the two steps every policy uses ------------------------------------
    def store_events(self, events: Sequence[Event]) -> list[Published]:
        """Refuse what Pushpin could not take (InvalidEvent), then store; PublishError if storing failed."""
        check_size(events)
        return self.store.append(events)

    def post(self, items: Sequence[bytes], deadline: float) -> None:
        """Post encoded items in order, as the batching rule splits them, all before `deadline`.

        On failure the PublishError's `undelivered` count says how many items,
        from the end, no Pushpin took.
        """
        done = 0
        for count in batch_sizes([len(item) for item in items]):
            try:
                self.transport.post(body_of(items[done : done + count]), deadline)
            except PublishError as exc:
                # what some instance already took stays: its subscribers have it
                exc.undelivered_count = len(items) - done - (count if exc.partial else 0)
                raise
            done += count

    # -- fail fast: one attempt, and nothing kept that Pushpin did not take ---
    def publish(self, events: Sequence[Event], *, timeout: float | None = None) -> list[Published]:
        """Store and deliver within `timeout` (default: the transport's); PublishError, nothing kept, on failure."""
        if not events:
            return []
        limit = self.timeout if timeout is None else timeout
        deadline = self.clock.now() + limit
        # from storing to posting, no other publisher of these channels (any process)
        # comes in between: Pushpin sees one unbroken chain of ids
        with self.store.serialized([e.channel for e in events], limit):
            published = self.store_events(events)
            try:
                self.post([encode_item(export_item(p.event, p.id, shared=self.shared)) for p in published], deadline)
            except PublishError as exc:
                exc.undelivered = published[len(published) - exc.undelivered_count :]
                self.store.withdraw(exc.undelivered)
                raise
            except BaseException:
                self.store.withdraw(published)  # interrupted (Ctrl-C) before Pushpin answered
                raise
        return published

    def preview(self, event: Event) -> str:
        """The SSE frame a browser would receive if `event` were published next, with the id it would get."""
        check_size([event])
        next_id = self.store.next_id(event.channel)
        return sse_frame(event.name, event.data, None if next_id is None else browser_event_id(event.channel, next_id))

    def end_streams(self, user_id: str, marker: str, text: str) -> None:
        self.transport.end_streams(user_id, marker, text)

    def ping(self) -> None:
        self.transport.ping()

    def retrying(self, listener: Listener, *, backoff: tuple[float, float] = (0.1, 1.0)) -> RetryingDelivery:
        return RetryingDelivery(self, listener, backoff=backoff)


def publish(events: Sequence[Event], *, timeout: float | None = None) -> list[Published]:
    """Fail-fast publish through an engine built from the settings (for scripts and one-off callers)."""
    engine = DeliveryEngine.from_settings()
    try:
        return engine.publish(events, timeout=timeout)
    finally:
        engine.close()


# -- retry: the loop's policy ------------------------------------------------
@dataclass
class Pending:
    event: Event
    origin: Any  # the producer's own tag (the loop: its feed run), handed back to the listener
    queued_at: float


@dataclass
class _Stored:
    pending: Pending
    item: bytes  # encoded once, however often it is posted


class Listener(Protocol):
    """What the producer hears about its events (the loop counts them per feed)."""

    def superseded(self, item: Pending) -> None: ...

    def failed(self, items: Sequence[Pending]) -> None: ...

    def dropped(self, item: Pending, error: InvalidEvent) -> None: ...

    def delivered(self, items: Sequence[Pending], at: float) -> None: ...


class Outbox:
    """Newest pending event per (channel, event), shared by the producer and the delivery thread."""

    def __init__(self, on_superseded: Callable[[Pending], None]) -> None:
        self.cond = threading.Condition()
        self.pending: dict[tuple[str, str], Pending] = {}
        self.on_superseded = on_superseded

    def put_many(self, items: Sequence[Pending]) -> None:
        with self.cond:
            for item in items:
                older = self.pending.pop(item.event.key, None)
                if older is not None:
                    self.on_superseded(older)
                self.pending[item.event.key] = item
            self.cond.notify_all()

    def take_all(self) -> list[Pending]:
        with self.cond:
            items = list(self.pending.values())
            self.pending.clear()
            return items

    def put_back(self, items: Sequence[Pending]) -> None:
        """Return undelivered items, unless a newer value has replaced them."""
        with self.cond:
            for item in items:
                if item.event.key in self.pending:
                    self.on_superseded(item)
                else:
                    self.pending[item.event.key] = item

    def __len__(self) -> int:
        return len(self.pending)

    def channels(self) -> set[str]:
        with self.cond:
            return {item.event.channel for item in self.pending.values()}


class Trouble:
    """Consecutive failures of one kind, logged at growing intervals during a long outage."""

    def __init__(self, what: str, clock: Clock) -> None:
        self.what = what
        self.clock = clock
        self.in_row = 0
        self.since = 0.0
        self.next_log = 0.0

    def failed(self, exc: Exception, pending: int) -> None:
        now = self.clock.now()
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
                self.clock.now() - self.since,
            )
            self.in_row = 0


Step = Literal["idle", "done", "failed"]


class RetryingDelivery:
    """The retry policy: deliver everything submitted, newest per component, retrying with backoff.

    Driven either by a thread of its own (`run_until_closed`, then `flush`) or,
    in unit tests, by its producer calling `pump()` on the same thread.
    """

    def __init__(self, engine: DeliveryEngine, listener: Listener, *, backoff: tuple[float, float]) -> None:
        self.engine = engine
        self.clock = engine.clock
        self.listener = listener
        self.backoff = backoff
        self.outbox = Outbox(listener.superseded)
        self.inflight: list[_Stored] = []  # stored, not yet taken by Pushpin: posted before anything newer
        self.retry_at = 0.0
        self.store_trouble = Trouble("storing events", self.clock)
        self.post_trouble = Trouble("publishing", self.clock)
        self.last_error: str | None = None
        self.closed = False
        self.stopping = False  # a stop was asked for: one last attempt, no retry loop
        self.deadline: float | None = None  # once closed: until when delivery may go on

    @property
    def pending(self) -> int:
        """Events submitted and not yet accepted by Pushpin."""
        return len(self.outbox) + len(self.inflight)

    @property
    def errors_in_row(self) -> int:
        return self.post_trouble.in_row + self.store_trouble.in_row

    def submit(self, items: Sequence[Pending]) -> None:
        self.outbox.put_many(items)

    def close(self, deadline: float, *, stopping: bool = False) -> None:
        """No more submissions; deliver what is pending until `deadline` (a later stop can only bring it forward)."""
        with self.outbox.cond:
            self.closed = True
            self.stopping = self.stopping or stopping
            self.deadline = deadline if self.deadline is None else min(self.deadline, deadline)
            self.outbox.cond.notify_all()

    # -- one unit of work ---------------------------------------------------
    def step(self, deadline: float | None = None) -> Step:
        """Store what the outbox holds (if nothing stored waits), then post it, request by request.

        Storing and posting hold the channels (store.serialized), so no other
        publisher's ids come between ours at Pushpin.
        """
        if not self.inflight and not self.outbox.pending:
            return "idle"
        channels = {s.pending.event.channel for s in self.inflight} | self.outbox.channels()
        try:
            with self.engine.store.serialized(sorted(channels), self.engine.timeout):
                return self._step(deadline)
        except PublishError as exc:  # the channels stayed busy: like a failed attempt
            self.last_error = str(exc)
            self.post_trouble.failed(exc, self.pending)
            self.retry_at = self.clock.now() + backoff(self.post_trouble.in_row, *self.backoff)
            return "failed"

    def _step(self, deadline: float | None) -> Step:
        if not self.inflight:
            items = self.outbox.take_all()
            if not items:
                return "idle"
            if not self._store(items):
                return "failed"
            if not self.inflight:
                return "done"  # every event was refused
        while self.inflight:
            now = self.clock.now()
            count = batch_sizes([len(s.item) for s in self.inflight])[0]
            batch = self.inflight[:count]
            post_deadline = now + self.engine.timeout
            if deadline is not None:
                post_deadline = min(post_deadline, deadline)
            try:
                self.engine.transport.post(body_of([s.item for s in batch]), post_deadline)
            except Exception as exc:
                self.last_error = str(exc)
                self.listener.failed([s.pending for s in batch])
                self.post_trouble.failed(exc, self.pending)
                self.retry_at = self.clock.now() + backoff(self.post_trouble.in_row, *self.backoff)
                return "failed"
            del self.inflight[:count]
            self.listener.delivered([s.pending for s in batch], self.clock.now())
            self.post_trouble.recovered()
        return "done"

    def _store(self, items: list[Pending]) -> bool:
        """Store a batch into `inflight`; False (items back in the outbox) when storing failed."""
        self.engine.store.refresh()
        try:
            published = self.engine.store_events([p.event for p in items])
        except InvalidEvent as exc:
            if len(items) > 1:
                # one event Pushpin cannot take must not sink the others with it
                return all([self._store([p]) for p in items])
            self.listener.dropped(items[0], exc)
            return True
        except Exception as exc:
            self.last_error = str(exc)
            self.listener.failed(items)
            self.outbox.put_back(items)
            self.store_trouble.failed(exc, self.pending)
            self.retry_at = self.clock.now() + backoff(self.store_trouble.in_row, *self.backoff)
            return False
        self.store_trouble.recovered()
        self.inflight += [
            _Stored(p, encode_item(export_item(s.event, s.id, shared=self.engine.shared)))
            for p, s in zip(items, published, strict=True)
        ]
        return True

    # -- drivers ------------------------------------------------------------
    def pump(self) -> None:
        """Do all the work that is due now, on the caller's thread (unit tests drive it this way)."""
        while self.clock.now() >= self.retry_at and self.step() == "done":
            pass

    def run_until_closed(self) -> None:
        """The delivery thread's body: work as events arrive, back off on failure, return once closed."""
        cond = self.outbox.cond
        while not self.closed:
            now = self.clock.now()
            if now < self.retry_at:
                with cond:
                    self.clock.wait(cond, lambda: self.closed, self.retry_at - now)
                continue
            if self.step() == "idle":
                with cond:
                    self.clock.wait(cond, lambda: self.closed or bool(self.outbox.pending), SLEEP_SLICE)

    def flush(self) -> None:
        """After close(): deliver what is pending until the deadline; after a stop, one last attempt only."""
        while self.pending and self.deadline is not None:
            now = self.clock.now()
            if now >= self.deadline:
                return
            if now < self.retry_at and not self.stopping:
                self.clock.sleep(min(self.retry_at, self.deadline) - now)
                continue
            if self.step(self.deadline) == "failed" and self.stopping:
                return
