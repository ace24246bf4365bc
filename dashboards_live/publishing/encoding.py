"""Events as bytes: the SSE frame a browser receives, and the GRIP items and bodies Pushpin takes.

Pure functions, no I/O. One batching rule lives here: a publish request
carries at most MAX_ITEMS_PER_POST items and at most BATCH_BODY_LIMIT bytes.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any
from urllib.parse import quote

from dashboards_live.contract import Event, InvalidEvent

# Pushpin refuses publish bodies over 1,000,000 bytes and fails a batch whole
PUSHPIN_MAX_BODY = 1_000_000
BATCH_BODY_LIMIT = 512 * 1024
# Pushpin queues at most 100 items per listener (PUBLISH_QUEUE_MAX in its handler)
# and drops the rest, which sends every listener back to Django to recover: a
# publish request carries at most half that, so the queues drain between requests.
MAX_ITEMS_PER_POST = 50
# Encoding one character of data makes at most 8 bytes of publish body (LF becomes "\\ndata: "),
# plus at most ITEM_OVERHEAD for the names and ids around it.
MAX_EXPANSION = 8
ITEM_OVERHEAD = 4096
_EMPTY_BODY = len(b'{"items":[]}')


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


def export_item(event: Event, stored_id: int | None, *, shared: bool = True) -> dict[str, Any]:
    """A Pushpin publish item for `event` (stored under `stored_id`, or not stored).

    Built as the dict that pubcontrol's Item(HttpStreamFormat(...)).export()
    returns for text content (a test holds the two equal): a third of the cost
    per event, which counts at thousands of events a second.

    `shared` (DASHBOARDS_SHARED_FRAMES, the default): the frame carries its
    browser id itself, so every subscriber of the channel gets the same bytes.
    Our streams hold one data channel each, so the id django-eventstream's
    build-id filter would build is exactly this one. Streams keep that filter
    (django-eventstream's send_event items need it, and Pushpin ends a stream
    that gets an item asking for a filter it does not hold), and Pushpin runs a
    stream's filters on every frame, so ours come escaped for it too ("%" as
    "%%"): it hands every subscriber the same unescaped bytes. Without
    `shared`: django-eventstream's own item, with "%I" filled in per subscriber.
    """
    from django_eventstream.utils import sse_encode_event

    if stored_id is None:
        # escaped too: the stream's build-id filter reads every frame, id or not
        content = sse_encode_event(event.name, event.data, escape=True)
        return {"http-stream": {"content": content}, "channel": grip_channel(event.channel)}
    if shared:
        content = sse_encode_event(
            event.name, event.data, event_id=browser_event_id(event.channel, stored_id), escape=True
        )
        stream: dict[str, Any] = {"content": content}
    else:
        content = sse_encode_event(event.name, event.data, event_id="%I", escape=True)
        stream = {"content-filters": ["build-id"], "content": content}
    return {
        "id": str(stored_id),
        "prev-id": str(stored_id - 1),
        "http-stream": stream,
        "channel": grip_channel(event.channel),
    }


def kick_items(user_id: str, marker: str, text: str) -> list[dict[str, Any]]:
    """Items that end one user's streams subscribed to the channel `marker`.

    What django-eventstream's publish_kick sends (a stream-error event, then
    close, on the user's channel, filtered by require-sub), but with its data as
    JSON, and posted by our transport: publish_kick goes through django-grip on a
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


def encode_item(item: dict[str, Any]) -> bytes:
    return json.dumps(item, ensure_ascii=False, separators=(",", ":")).encode()


def encode_body(items: Sequence[dict[str, Any]]) -> bytes:
    return body_of([encode_item(item) for item in items])


def body_of(encoded_items: Sequence[bytes]) -> bytes:
    """A publish body from items already encoded by encode_item (each encoded once, however often posted)."""
    return b'{"items":[' + b",".join(encoded_items) + b"]}"


def batch_sizes(
    item_sizes: Sequence[int], limit: int = BATCH_BODY_LIMIT, max_items: int = MAX_ITEMS_PER_POST
) -> list[int]:
    """The batching rule: how many items, in order, go in each publish request.

    A request holds at most `max_items` items and at most `limit` bytes of body
    (an item alone over the limit still goes, alone: check_size refuses what
    Pushpin would).
    """
    counts: list[int] = []
    count, size = 0, _EMPTY_BODY
    for item_size in item_sizes:
        if count and (size + item_size + 1 > limit or count >= max_items):
            counts.append(count)
            count, size = 0, _EMPTY_BODY
        count += 1
        size += item_size + 1
    if count:
        counts.append(count)
    return counts


def batches(
    items: Sequence[dict[str, Any]], limit: int = BATCH_BODY_LIMIT, max_items: int = MAX_ITEMS_PER_POST
) -> list[list[dict[str, Any]]]:
    """`items` split into publish requests by the batching rule."""
    out: list[list[dict[str, Any]]] = []
    start = 0
    for count in batch_sizes([len(encode_item(item)) for item in items], limit, max_items):
        out.append(list(items[start : start + count]))
        start += count
    return out


def check_size(events: Sequence[Event]) -> None:
    """Refuse (InvalidEvent "pushpin-size") an event whose publish body Pushpin would refuse."""
    for event in events:
        if len(event.data) * MAX_EXPANSION + ITEM_OVERHEAD < PUSHPIN_MAX_BODY:
            continue  # cannot be over the limit: skip encoding it (most events, always at the default limit)
        size = len(encode_body([export_item(event, 2**62)]))
        if size > PUSHPIN_MAX_BODY:
            raise InvalidEvent(
                "pushpin-size",
                f"event {event.name!r} encodes to {size} bytes, over Pushpin's publish limit of {PUSHPIN_MAX_BODY}",
            )
