"""One event from an operator: data as given, as compact JSON, or rendered by a component.

sendevent parses its arguments and calls these; the rules stay in the event
contract, storing and posting in the delivery engine (fail-fast policy), the
fragments in components (the same code the feeds use). Every refusal is an
InvalidEvent whose rule names what was broken.
"""

from __future__ import annotations

import json
import math
import time
from dataclasses import dataclass
from typing import IO, Any, Literal

from dashboards_live.contract import (
    Event,
    InvalidEvent,
    Published,
    make_event,
    validate_channel,
    validate_event_name,
)
from dashboards_live.declaring.components import Chart, Component, InvalidValue, Stat
from dashboards_live.declaring.dashboards import find_component
from dashboards_live.declaring.feeds import autodiscover
from dashboards_live.publishing.delivery import DeliveryEngine
from dashboards_live.publishing.push import render_all

Mode = Literal["text", "json", "stat", "chart"]
# input may be pretty-printed JSON that compacts under the data limit
INPUT_FACTOR = 16


def read_limited(stream: IO[bytes], max_bytes: int) -> bytes:
    """All of `stream`, refusing (without reading on) input far over any useful size."""
    limit = max_bytes * INPUT_FACTOR
    raw = stream.read(limit + 1)
    if len(raw) > limit:
        raise InvalidEvent("size", f"input is over {limit} bytes ({INPUT_FACTOR} x DASHBOARDS_MAX_DATA_BYTES)")
    return raw


def decode(raw: str | bytes) -> str:
    if isinstance(raw, str):
        return raw
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InvalidEvent("utf8", f"data is not valid UTF-8 (byte {exc.start})") from None


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        # 1e999 parses to inf, which compact JSON would send on as Infinity
        raise ValueError(f"{text[:40]} is not a finite number")
    return value


def _finite_int(text: str) -> int:
    value = int(text)
    try:
        float(value)
    except OverflowError:
        raise ValueError(f"the {len(text)}-digit integer {text[:20]}... is too large for a number") from None
    return value


def parse_json(raw: str | bytes) -> Any:
    text = decode(raw)
    try:
        return json.loads(text, parse_constant=_refuse_constant, parse_float=_finite_float, parse_int=_finite_int)
    except ValueError as exc:
        raise InvalidEvent("json", f"data is not valid JSON: {exc}") from None
    except RecursionError:
        raise InvalidEvent("json", "data is not valid JSON: nested too deeply") from None


def one_line(text: str) -> str:
    """`text` with line breaks and other unprintables escaped (a refusal is one line)."""
    return "".join(c if c.isprintable() else c.encode("unicode_escape").decode() for c in text)


def compact_json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def render(kind: Literal["stat", "chart"], channel: str, event: str, value: Any) -> str:
    """The fragment a feed would publish for `value` (the component's whole state)."""
    component = component_for(kind, channel, event)
    if kind == "chart" and not isinstance(value, list):
        raise InvalidEvent("value", "a Chart value is a JSON list of numbers (the whole window)")
    try:
        return component.render(component.next_state(None, value))
    except InvalidValue as exc:
        raise InvalidEvent("value", f"invalid {kind} value: {one_line(str(exc))}") from None


def component_for(kind: Literal["stat", "chart"], channel: str, event: str) -> Component:
    """The component a registered feed publishes as `event` (its title, window, unit), or a plain one.

    A feed on the same channel wins; a feed elsewhere with the same event name
    (a dashboard moved to another channel) comes next.
    """
    feeds = [f for f in autodiscover().all() if f.event == event]
    candidates = [f for f in feeds if f.channel == channel] or feeds
    for f in candidates:
        if f.component.kind == kind:
            return f.component
    if candidates:
        other = candidates[0]
        raise InvalidEvent(
            "value",
            f"event {event!r} is a {other.component.kind} (feed {other.name!r}), not a {kind}: "
            f"use --render {other.component.kind}",
        )
    return Stat(event) if kind == "stat" else Chart(event)


def prepare(channel: str, event: str, raw: str | bytes, mode: Mode = "text") -> Event:
    """Validate names, then turn the input into the event's data and validate that."""
    validate_channel(channel)
    validate_event_name(event)
    if mode == "text":
        data: str | bytes = raw
    elif mode == "json":
        data = compact_json(parse_json(raw))
    else:
        data = render(mode, channel, event, parse_json(raw))
    return make_event(channel, event, data)


def prepare_for(reference: str, raw: str | bytes) -> Event:
    """The event `reference` (DASHBOARD.COMPONENT) would publish for the JSON value in `raw`.

    The declared component renders it, building on its last stored state as
    push() does, so a Chart gets one more point.
    """
    component = find_component(reference)
    value = parse_json(raw)
    try:
        [event] = render_all([(component, value)], time.time())
    except InvalidValue as exc:
        raise InvalidEvent("value", f"invalid {component.kind} value for {reference}: {one_line(str(exc))}") from None
    return event


@dataclass(frozen=True)
class Sent:
    published: Published
    elapsed_ms: float


def send(event: Event, *, timeout: float | None = None, engine: DeliveryEngine | None = None) -> Sent:
    """Store and deliver one event synchronously; raises PublishError (nothing kept) on failure."""
    began = time.monotonic()
    own = engine is None
    # the transport's own timeout is what its errors quote ("did not answer within 1 s")
    engine = DeliveryEngine.from_settings(timeout=timeout) if engine is None else engine
    try:
        [published] = engine.publish([event], timeout=timeout)
    finally:
        if own:
            engine.close()
    return Sent(published, (time.monotonic() - began) * 1000)


def dry_run(event: Event, engine: DeliveryEngine | None = None) -> str:
    """The frame `event` would arrive as; stores and sends nothing."""
    return (DeliveryEngine.from_settings() if engine is None else engine).preview(event)
