"""The only place that talks to Pushpin or to django-eventstream's storage.

publish() validates every event first (so bad input publishes nothing), stores
the events of reliable channels (their ids let a reconnecting browser catch
up), then posts them to Pushpin's publish endpoint in as few requests as fit
under its body limit, synchronously and within a deadline that covers
connecting too. django-eventstream's `send_event` is not used: it publishes on
a background thread with no timeout and drops failures silently.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import re
import socket
import threading
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Literal
from urllib.parse import quote, urlsplit

from django.conf import settings

CHANNEL_RE = re.compile(r"[A-Za-z0-9_.-]{1,64}")
EVENT_RE = re.compile(r"[A-Za-z][A-Za-z0-9_.-]{0,63}")
# names django-eventstream sends itself; a browser could not tell ours apart
RESERVED_EVENTS = frozenset({"stream-open", "stream-reset", "stream-error", "keep-alive"})
# Pushpin refuses publish bodies over 1,000,000 bytes and fails a batch whole
PUSHPIN_MAX_BODY = 1_000_000
BATCH_BODY_LIMIT = 512 * 1024
# Encoding one character of data makes at most 8 bytes of publish body (LF becomes "\\ndata: "),
# plus at most ITEM_OVERHEAD for the names and ids around it.
MAX_EXPANSION = 8
ITEM_OVERHEAD = 4096

Rule = Literal["channel", "event", "reserved", "utf8", "nul", "cr", "size", "pushpin-size", "json", "value"]


class InvalidEvent(ValueError):
    """Input that breaks one of the publishing rules; nothing was published."""

    def __init__(self, rule: Rule, message: str) -> None:
        super().__init__(message)
        self.rule = rule


class PublishError(RuntimeError):
    """Pushpin could not be reached, refused the publish or did not answer in time."""

    undelivered: Sequence[Published] = ()  # set by Publisher.deliver
    partial: bool = False  # another Pushpin instance did take it


@dataclass(frozen=True)
class Event:
    channel: str
    name: str
    data: str


@dataclass(frozen=True)
class Published:
    event: Event
    id: int | None  # the stored id (None on channels that are not stored)


def validate_channel(channel: str) -> str:
    if not CHANNEL_RE.fullmatch(channel):
        raise InvalidEvent(
            "channel",
            f"invalid channel {channel!r}: use 1 to 64 of A-Z a-z 0-9 _ . -",
        )
    return channel


def validate_event_name(name: str) -> str:
    if name in RESERVED_EVENTS:
        raise InvalidEvent("reserved", f"event name {name!r} is reserved by django-eventstream; choose another")
    if not EVENT_RE.fullmatch(name):
        raise InvalidEvent(
            "event",
            f"invalid event name {name!r}: a letter, then up to 63 of A-Z a-z 0-9 _ . -",
        )
    return name


def validate_data(data: str | bytes, max_bytes: int | None = None) -> str:
    limit = settings.DASHBOARDS_MAX_DATA_BYTES if max_bytes is None else max_bytes
    if isinstance(data, bytes):
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise InvalidEvent("utf8", f"data is not valid UTF-8 (byte {exc.start})") from None
        size = len(data)
    else:
        text = data
        try:
            size = len(text.encode("utf-8"))
        except UnicodeEncodeError as exc:
            raise InvalidEvent("utf8", f"data is not valid UTF-8 (character {exc.start})") from None
    if "\x00" in text:
        raise InvalidEvent("nul", "data contains a NUL character")
    if "\r" in text:
        # SSE turns CR into a line break, so it could not arrive byte for byte
        raise InvalidEvent("cr", "data contains a carriage return (CR); use LF line endings")
    if size > limit:
        raise InvalidEvent("size", f"data is {size} bytes, over the limit of {limit} (DASHBOARDS_MAX_DATA_BYTES)")
    return text


def make_event(channel: str, name: str, data: str | bytes, *, max_bytes: int | None = None) -> Event:
    return Event(validate_channel(channel), validate_event_name(name), validate_data(data, max_bytes))


def sse_frame(name: str, data: str, event_id: str | None = None) -> str:
    """The SSE frame a browser receives for this event."""
    from django_eventstream.utils import sse_encode_event

    return str(sse_encode_event(name, data, event_id=event_id))


def browser_event_id(channel: str, stored_id: int) -> str:
    """The `id:` a browser sees: django-eventstream's per-channel id format."""
    from django_eventstream.utils import make_id

    return str(make_id({channel: stored_id}))


def grip_channel(channel: str) -> str:
    return "events-" + quote(channel)


def export_item(event: Event, stored_id: int | None) -> dict[str, Any]:
    """A Pushpin publish item, exactly as django-eventstream builds one.

    Built as the dict that pubcontrol's Item(HttpStreamFormat(...)).export()
    returns for text content (a test holds the two equal): a third of the cost
    per event, which counts at thousands of events a second.
    """
    from django_eventstream.utils import sse_encode_event

    if stored_id is None:
        content = sse_encode_event(event.name, event.data)
        return {"http-stream": {"content": content}, "channel": grip_channel(event.channel)}
    # "%I" is filled in per subscriber by Pushpin's build-id filter, hence
    # the escaping of "%" in the data (undone by the same filter)
    content = sse_encode_event(event.name, event.data, event_id="%I", escape=True)
    return {
        "id": str(stored_id),
        "prev-id": str(stored_id - 1),
        "http-stream": {"content-filters": ["build-id"], "content": content},
        "channel": grip_channel(event.channel),
    }


def kick_items(user_id: str, marker: str, text: str) -> list[dict[str, Any]]:
    """Items that end one user's streams subscribed to the channel `marker`.

    What django-eventstream's publish_kick sends (a stream-error event, then
    close, on the user's channel, filtered by require-sub), but with its data as
    JSON, and posted by our publisher: publish_kick goes through django-grip on a
    background thread with no timeout.
    """
    from django_eventstream.utils import sse_encode_error
    from gripcontrol import HttpStreamFormat
    from pubcontrol import Item

    meta = {"require_sub": marker}
    items = []
    for fmt in (HttpStreamFormat(sse_encode_error("forbidden", text)), HttpStreamFormat(close=True)):
        exported: dict[str, Any] = Item(fmt, meta=meta).export()
        exported["channel"] = f"user-{user_id}"
        items.append(exported)
    return items


def encode_body(items: Sequence[dict[str, Any]]) -> bytes:
    return json.dumps({"items": list(items)}, ensure_ascii=False, separators=(",", ":")).encode()


def batches(items: Iterable[dict[str, Any]], limit: int = BATCH_BODY_LIMIT) -> list[list[dict[str, Any]]]:
    """Split items into publish requests whose bodies stay under `limit` bytes."""
    out: list[list[dict[str, Any]]] = []
    current: list[dict[str, Any]] = []
    size = len(b'{"items":[]}')
    for item in items:
        item_size = len(encode_body([item])) - len(b'{"items":[]}') + 1
        if current and size + item_size > limit:
            out.append(current)
            current, size = [], len(b'{"items":[]}')
        current.append(item)
        size += item_size
    if current:
        out.append(current)
    return out


@dataclass(frozen=True)
class Target:
    """Where and how to publish, parsed from GRIP_URL."""

    scheme: str
    host: str
    port: int
    path: str
    iss: str | None
    key: bytes | str | None

    @classmethod
    def from_grip_url(cls, url: str) -> Target:
        from gripcontrol import parse_grip_uri

        parsed = parse_grip_uri(url)
        parts = urlsplit(parsed["control_uri"])
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise PublishError(f"GRIP_URL must be an http(s) URL, not {url!r}")
        port = parts.port or (443 if parts.scheme == "https" else 80)
        return cls(
            parts.scheme,
            parts.hostname,
            port,
            parts.path.rstrip("/"),
            parsed.get("control_iss"),
            parsed.get("key"),
        )

    @property
    def display(self) -> str:
        return f"{self.scheme}://{self.host}:{self.port}{self.path}"


class PushpinClient:
    """Posts publish requests to Pushpin over one kept-alive connection."""

    def __init__(self, target: Target, timeout: float) -> None:
        self.target = target
        self.timeout = timeout
        self._conn: http.client.HTTPConnection | None = None

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    def _headers(self) -> dict[str, str]:
        headers = {"Content-Type": "application/json"}
        if self.target.iss and self.target.key:
            import jwt

            token = jwt.encode({"iss": self.target.iss, "exp": int(time.time()) + 3600}, self.target.key)
            headers["Authorization"] = f"Bearer {token}"
        return headers

    def _connect(self, remaining: float) -> http.client.HTTPConnection:
        cls = http.client.HTTPSConnection if self.target.scheme == "https" else http.client.HTTPConnection
        conn = cls(self.target.host, self.target.port, timeout=max(remaining, 0.001))
        conn.connect()
        return conn

    def post(self, body: bytes, deadline: float) -> None:
        reused = self._conn is not None
        try:
            self._post_once(body, deadline)
        except (http.client.RemoteDisconnected, BrokenPipeError, ConnectionResetError):
            self.close()
            if not reused or time.monotonic() >= deadline:
                raise PublishError(
                    f"Pushpin at {self.target.display} closed the connection without answering"
                ) from None
            # a kept-alive connection the server had already closed: Pushpin
            # never read this request, so sending it again is safe
            self._post_once(body, deadline)

    def _post_once(self, body: bytes, deadline: float) -> None:
        remaining = deadline - time.monotonic()
        where = self.target.display
        try:
            if self._conn is None:
                self._conn = self._connect(remaining)
            conn = self._conn
            assert conn.sock is not None
            sock = conn.sock
            # one timer bounds the whole exchange, however slowly bytes trickle
            timer = threading.Timer(max(deadline - time.monotonic(), 0), _shutdown, (sock,))
            timer.daemon = True
            timer.start()
            try:
                conn.request("POST", self.target.path + "/publish/", body, self._headers())
                response = conn.getresponse()
                answer = response.read()
            finally:
                timer.cancel()
        except (http.client.RemoteDisconnected, BrokenPipeError, ConnectionResetError):
            if time.monotonic() >= deadline:
                self.close()
                raise PublishError(f"Pushpin at {where} did not answer within {self.timeout:g} s") from None
            raise
        except TimeoutError:
            self.close()
            raise PublishError(f"Pushpin at {where} did not answer within {self.timeout:g} s") from None
        except ConnectionRefusedError:
            self.close()
            raise PublishError(f"Pushpin is not reachable at {where} (connection refused)") from None
        except (OSError, http.client.HTTPException) as exc:
            self.close()
            if time.monotonic() >= deadline:
                raise PublishError(f"Pushpin at {where} did not answer within {self.timeout:g} s") from None
            raise PublishError(f"publishing to Pushpin at {where} failed: {exc}") from None
        if response.status != 200:
            self.close()
            text = answer.decode("utf-8", "replace").strip().splitlines()
            reason = text[0][:200] if text else response.reason
            raise PublishError(f"Pushpin at {where} refused the publish: HTTP {response.status} {reason}")
        if response.will_close:
            self.close()


def _shutdown(sock: socket.socket) -> None:
    with contextlib.suppress(OSError):
        sock.shutdown(socket.SHUT_RDWR)


def store(events: Sequence[Event]) -> list[Published]:
    """Append the events of reliable channels to django-eventstream's storage (a batch at a time)."""
    from django.db import DatabaseError

    from dashboards_live.storage import append_events

    try:
        return append_events(events)
    except DatabaseError as exc:
        raise PublishError(f"could not store the event(s) in the database: {exc}") from None


def withdraw(published: Sequence[Published]) -> None:
    """Delete stored events that Pushpin did not take, so no page or replay shows them."""
    from django.db import DatabaseError
    from django_eventstream.models import Event as StoredEvent

    for p in published:
        if p.id is not None:
            # best effort: the publish already failed, and that is what gets reported
            with contextlib.suppress(DatabaseError):
                StoredEvent.objects.filter(channel=p.event.channel, eid=p.id).delete()


def preview_frame(event: Event) -> str:
    """The SSE frame a browser would receive if `event` were published next.

    It carries the id the event would be stored under, so it equals the frame
    a subscriber receives when nothing else is published on the channel first.
    """
    from django.db import DatabaseError

    try:
        from dashboards_live.storage import storage_for

        storage = storage_for(event.channel)
        next_id = None if storage is None else int(storage.get_current_id(event.channel)) + 1
    except DatabaseError as exc:
        raise PublishError(f"could not read the event storage: {exc}") from None
    return sse_frame(event.name, event.data, None if next_id is None else browser_event_id(event.channel, next_id))


class Publisher:
    """Validates, stores and delivers events; one per process is enough.

    With several Pushpin instances (DASHBOARDS_PUBLISH_URLS beside GRIP_URL),
    every event goes to each of them, in parallel and within one deadline.
    """

    def __init__(
        self, grip_url: str | None = None, timeout: float | None = None, extra_urls: Sequence[str] | None = None
    ) -> None:
        urls = [grip_url or settings.GRIP_URL]
        urls += list(getattr(settings, "DASHBOARDS_PUBLISH_URLS", []) if extra_urls is None else extra_urls)
        self.targets = [Target.from_grip_url(url) for url in urls]
        self.target = self.targets[0]
        self.timeout = settings.DASHBOARDS_PUBLISH_TIMEOUT if timeout is None else timeout
        self.clients = [PushpinClient(target, self.timeout) for target in self.targets]
        self.client = self.clients[0]
        self._pool: Any = None
        if len(self.clients) > 1:
            from concurrent.futures import ThreadPoolExecutor

            self._pool = ThreadPoolExecutor(max_workers=len(self.clients), thread_name_prefix="pushpin")

    def close(self) -> None:
        for client in self.clients:
            client.close()
        if self._pool is not None:
            self._pool.shutdown(wait=False)

    def post(self, body: bytes, deadline: float) -> None:
        """Post one body to every Pushpin instance.

        Raises PublishError if any instance failed; `partial` on it is True when
        at least one other instance took the body (its subscribers have it).
        """
        if self._pool is None:
            self.client.post(body, deadline)
            return
        futures = [self._pool.submit(client.post, body, deadline) for client in self.clients]
        errors = [f.exception() for f in futures]
        failed = [str(e) for e in errors if e is not None]
        if failed:
            error = PublishError(
                "; ".join(failed) + f" ({len(self.clients) - len(failed)} of {len(self.clients)} Pushpin instances "
                "took it)"
            )
            error.partial = len(failed) < len(self.clients)
            raise error

    def check_size(self, events: Sequence[Event]) -> None:
        for event in events:
            if len(event.data) * MAX_EXPANSION + ITEM_OVERHEAD < PUSHPIN_MAX_BODY:
                continue  # cannot be over the limit: skip encoding it (most events, always at the default limit)
            size = len(encode_body([export_item(event, 2**62)]))
            if size > PUSHPIN_MAX_BODY:
                raise InvalidEvent(
                    "pushpin-size",
                    f"event {event.name!r} encodes to {size} bytes, over Pushpin's publish limit of {PUSHPIN_MAX_BODY}",
                )

    def deliver(self, published: Sequence[Published], *, timeout: float | None = None) -> None:
        """Post already-stored events to Pushpin within `timeout` (default: the publisher's); raises PublishError."""
        deadline = time.monotonic() + (self.timeout if timeout is None else timeout)
        items = [export_item(p.event, p.id) for p in published]
        done = 0
        for batch in batches(items):
            try:
                self.post(encode_body(batch), deadline)
            except PublishError as exc:
                # what some instance already took stays stored: its subscribers have it
                exc.undelivered = published[done + (len(batch) if exc.partial else 0) :]
                raise
            done += len(batch)

    def store_events(self, events: Sequence[Event]) -> list[Published]:
        """The first half of publish(): check sizes, store; deliver() posts the result."""
        self.check_size(events)
        return store(events)

    def publish(self, events: Sequence[Event], *, timeout: float | None = None) -> list[Published]:
        """Store and deliver events (already validated with make_event); `timeout` bounds the delivery."""
        if not events:
            return []
        self.check_size(events)
        published = store(events)
        try:
            self.deliver(published, timeout=timeout)
        except PublishError as exc:
            # nothing half-published: what Pushpin did not confirm is not kept
            withdraw(exc.undelivered)
            raise
        except BaseException:
            withdraw(published)  # interrupted (Ctrl-C) before Pushpin answered
            raise
        return published

    def end_streams(self, user_id: str, marker: str, text: str) -> None:
        """End the open streams of one user that carry `marker`; raises PublishError."""
        self.post(encode_body(kick_items(user_id, marker, text)), time.monotonic() + self.timeout)

    def ping(self) -> None:
        """Raise PublishError unless Pushpin's publish endpoint answers."""
        self.post(encode_body([]), time.monotonic() + self.timeout)


def publish(events: Sequence[Event], *, timeout: float | None = None) -> list[Published]:
    publisher = Publisher(timeout=timeout)
    try:
        return publisher.publish(events)
    finally:
        publisher.close()
