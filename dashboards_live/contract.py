"""The event contract: names, limits and the Event value, enforced in this one place.

Everything that names a channel or an event (components, feeds, channel rules,
views, commands) checks it here. An Event can only be built valid: its
constructor applies every rule, so code holding one never checks again. This
module imports nothing of the app.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Literal

from django.conf import settings

CHANNEL_RE = re.compile(r"[A-Za-z0-9_.-]{1,64}")
EVENT_RE = re.compile(r"[A-Za-z][A-Za-z0-9_.-]{0,63}")
# names django-eventstream sends itself; a browser could not tell ours apart
RESERVED_EVENTS = frozenset({"stream-open", "stream-reset", "stream-error", "keep-alive"})

Rule = Literal["channel", "event", "reserved", "utf8", "nul", "cr", "size", "pushpin-size", "json", "value"]


class InvalidEvent(ValueError):
    """Input that breaks one of the event rules; nothing was published."""

    def __init__(self, rule: Rule, message: str) -> None:
        super().__init__(message)
        self.rule = rule


def is_channel(channel: object) -> bool:
    return isinstance(channel, str) and CHANNEL_RE.fullmatch(channel) is not None


def validate_channel(channel: str) -> str:
    if not is_channel(channel):
        raise InvalidEvent("channel", f"invalid channel {channel!r}: use 1 to 64 of A-Z a-z 0-9 _ . -")
    return channel


DEFAULT_MAX_DATA_BYTES = 64 * 1024


def validate_event_name(name: str) -> str:
    if name in RESERVED_EVENTS:
        raise InvalidEvent("reserved", f"event name {name!r} is reserved by django-eventstream; choose another")
    if not isinstance(name, str) or not EVENT_RE.fullmatch(name):
        raise InvalidEvent("event", f"invalid event name {name!r}: a letter, then up to 63 of A-Z a-z 0-9 _ . -")
    return name


def max_data_bytes() -> int:
    return int(getattr(settings, "DASHBOARDS_MAX_DATA_BYTES", DEFAULT_MAX_DATA_BYTES))


def validate_data(data: str | bytes, max_bytes: int | None = None) -> str:
    limit = max_data_bytes() if max_bytes is None else max_bytes
    if isinstance(data, bytes):
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise InvalidEvent("utf8", f"data is not valid UTF-8 (byte {exc.start})") from None
        size = len(data)
    elif isinstance(data, str):
        text = data
        try:
            size = len(text.encode("utf-8"))
        except UnicodeEncodeError as exc:
            raise InvalidEvent("utf8", f"data is not valid UTF-8 (character {exc.start})") from None
    else:
        raise InvalidEvent("value", f"event data is text, not {type(data).__name__}")
    if "\x00" in text:
        raise InvalidEvent("nul", "data contains a NUL character")
    if "\r" in text:
        # SSE turns CR into a line break, so it could not arrive byte for byte
        raise InvalidEvent("cr", "data contains a carriage return (CR); use LF line endings")
    if size > limit:
        raise InvalidEvent("size", f"data is {size} bytes, over the limit of {limit} (DASHBOARDS_MAX_DATA_BYTES)")
    return text


@dataclass(frozen=True)
class Event:
    """One event on one channel; constructing it applies every rule (InvalidEvent otherwise)."""

    channel: str
    name: str
    data: str
    # the component's state as JSON (a Chart's window), stored beside the fragment
    # for the next value to build on; never sent to browsers
    state: str | None = field(default=None, compare=False, repr=False)
    # whether the event carries its component's whole state (a reconnect then
    # replays only the newest of its name), a log's (replayed in full), or
    # None: not declared here (a raw name), storage goes by what it was told before
    whole_state: bool | None = field(default=None, compare=False, repr=False)

    def __post_init__(self) -> None:
        validate_channel(self.channel)
        validate_event_name(self.name)
        validate_data(self.data)

    @property
    def key(self) -> tuple[str, str]:
        """What a newer event of the same component replaces: (channel, event name)."""
        return (self.channel, self.name)


def make_event(
    channel: str,
    name: str,
    data: str | bytes,
    *,
    max_bytes: int | None = None,
    state: str | None = None,
    whole_state: bool | None = None,
) -> Event:
    """An Event from raw input (bytes are decoded as UTF-8); `max_bytes` may only tighten the limit."""
    validate_channel(channel)
    validate_event_name(name)
    return Event(channel, name, validate_data(data, max_bytes), state, whole_state)


@dataclass(frozen=True)
class Published:
    event: Event
    id: int | None  # the stored id (None on channels that are not stored)
