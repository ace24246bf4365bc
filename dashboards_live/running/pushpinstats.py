"""Pushpin's statistics, decoded and added up: who is watching each channel, and what Pushpin sent.

Pushpin publishes one ZMQ message per statistic on its stats socket
(`stats_spec`): the type, a space, then `J` and a JSON object
(`stats_format=json`) or `T` and a tnetstring. We read these types and
ignore the others:

- `sub`: a channel's subscriber count (`subscribers`), valid for `ttl` seconds;
  sent again when the count changes and before the ttl runs out, and with
  `unavailable` when the channel has no subscriber left.
- `report`: every `stats_report_interval`: `connections` (the most open during
  the interval), `received` (messages published to Pushpin), `sent` (messages
  delivered to clients) and `minutes` (connection-minutes) of that interval.

Counts are kept per Pushpin (`from`) and added up, so one reader can follow
several Pushpins. Time is passed in, so tests replay recorded messages.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote

from dashboards_live.publishing.encoding import grip_channel

# the GRIP channel of an app channel is this prefix and the channel, quoted
GRIP_PREFIX = grip_channel("")
# the interval we assume until the first report says how long one was
DEFAULT_REPORT_INTERVAL = 10.0


class BadStats(ValueError):
    """A stats message that is not `TYPE J{json}` (or `TYPE T<tnetstring>`) with an object inside."""


def decode(frame: bytes) -> tuple[str, dict[str, Any]]:
    """One message of Pushpin's stats socket -> (type, fields)."""
    kind, sep, body = frame.partition(b" ")
    if not sep or not body:
        raise BadStats(f"no type and body in {frame[:60]!r}")
    marker, payload = body[:1], body[1:]
    if marker == b"J":
        try:
            value = json.loads(payload)
        except ValueError as exc:
            raise BadStats(f"bad JSON in a {kind!r} message: {exc}") from None
    elif marker == b"T":
        value, rest = tnetstring(payload)
        if rest:
            raise BadStats(f"{len(rest)} bytes after the tnetstring of a {kind!r} message")
    else:
        raise BadStats(f"unknown format {marker!r} (Pushpin's stats_format is json or tnetstring)")
    if not isinstance(value, dict):
        raise BadStats(f"a {kind!r} message that is not an object")
    return kind.decode("ascii", "replace"), value


def tnetstring(data: bytes) -> tuple[Any, bytes]:
    """The first tnetstring in `data` (bytes as str) and what follows it.

    Pushpin's default `stats_format`; the json format is the one we ship,
    this reads a config that kept the default."""
    size, sep, rest = data.partition(b":")
    if not sep or not size.isdigit() or len(rest) <= int(size):
        raise BadStats("truncated or malformed tnetstring")
    payload, tag, rest = rest[: int(size)], rest[int(size) : int(size) + 1], rest[int(size) + 1 :]
    if tag == b",":
        return payload.decode("utf-8", "replace"), rest
    if tag in (b"#", b"^"):
        try:
            return (int(payload) if tag == b"#" else float(payload)), rest
        except ValueError:
            raise BadStats(f"{payload[:20]!r} is not a number") from None
    if tag == b"!":
        return payload == b"true", rest
    if tag == b"~":
        return None, rest
    if tag == b"]":
        items = []
        while payload:
            item, payload = tnetstring(payload)
            items.append(item)
        return items, rest
    if tag == b"}":
        obj = {}
        while payload:
            key, payload = tnetstring(payload)
            obj[str(key)], payload = tnetstring(payload)
        return obj, rest
    raise BadStats(f"unknown tnetstring type {tag!r}")


def app_channel(grip: str) -> str | None:
    """The app's channel behind a GRIP channel (None: not one of django-eventstream's)."""
    return unquote(grip.removeprefix(GRIP_PREFIX)) if grip.startswith(GRIP_PREFIX) else None


@dataclass
class Totals:
    """Counters over every report since the reader started, as Prometheus counters want them."""

    published: int = 0
    delivered: int = 0
    connection_minutes: int = 0
    reports: int = 0


@dataclass
class PushpinStats:
    """What the stats messages said, as of the last one; every method takes the time (monotonic seconds)."""

    # (pushpin, channel) -> (subscribers, until when the count holds)
    subscribers: dict[tuple[str, str], tuple[int, float]] = field(default_factory=dict)
    # pushpin -> (connections in its last report, until when that holds)
    connections_by_pushpin: dict[str, tuple[int, float]] = field(default_factory=dict)
    totals: Totals = field(default_factory=Totals)
    report_interval: float = DEFAULT_REPORT_INTERVAL
    last_report: float | None = None
    ignored: int = 0

    def feed(self, frame: bytes, now: float) -> str:
        """Take one message; returns its type. Raises BadStats."""
        kind, fields = decode(frame)
        source = str(fields.get("from", ""))
        if kind == "sub":
            self._sub(source, fields, now)
        elif kind == "report":
            self._report(source, fields, now)
        else:
            self.ignored += 1
        return kind

    def _sub(self, source: str, fields: dict[str, Any], now: float) -> None:
        channel = app_channel(str(fields.get("channel", "")))
        if channel is None or fields.get("mode") != "stream":
            return
        key = (source, channel)
        if fields.get("unavailable"):
            self.subscribers.pop(key, None)
            return
        count, ttl = _int(fields, "subscribers"), _int(fields, "ttl")
        self.subscribers[key] = (count, now + ttl)

    def _report(self, source: str, fields: dict[str, Any], now: float) -> None:
        duration = _int(fields, "duration") / 1000
        if duration > 0:
            self.report_interval = duration
        # a Pushpin that stops reporting stops counting after three missed reports
        self.connections_by_pushpin[source] = (_int(fields, "connections"), now + 3 * self.report_interval)
        self.totals.published += _int(fields, "received")
        self.totals.delivered += _int(fields, "sent")
        self.totals.connection_minutes += _int(fields, "minutes")
        self.totals.reports += 1
        self.last_report = now

    def expire(self, now: float) -> None:
        """Forget counts whose ttl ran out (their Pushpin stopped saying them)."""
        self.subscribers = {k: v for k, v in self.subscribers.items() if v[1] > now}
        self.connections_by_pushpin = {k: v for k, v in self.connections_by_pushpin.items() if v[1] > now}

    def watching(self, now: float) -> dict[str, int]:
        """Open streams per channel, over every Pushpin (channels with none left out)."""
        self.expire(now)
        counts: dict[str, int] = {}
        for (_, channel), (count, _) in self.subscribers.items():
            counts[channel] = counts.get(channel, 0) + count
        return {channel: count for channel, count in sorted(counts.items()) if count > 0}

    def connections(self, now: float) -> int:
        self.expire(now)
        return sum(count for count, _ in self.connections_by_pushpin.values())


def _int(fields: dict[str, Any], name: str) -> int:
    value = fields.get(name, 0)
    if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
        raise BadStats(f"{name} is {value!r}, not a count")
    return int(value)
