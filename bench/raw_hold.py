"""The cheapest possible backend for Pushpin: answer every request with hold
instructions for the demo channel and nothing else (no Django). bench/fanout.py
measures connection admission against it: the physical limit of the box."""

from collections.abc import Callable, Iterable
from typing import Any

HEADERS = [
    ("Content-Type", "text/event-stream"),
    ("Grip-Hold", "stream"),
    ("Grip-Channel", "events-demo"),
    # what django-eventstream's build-id filter needs to fill in the event ids
    ("Grip-Set-Meta", 'id_format="demo:%(events-demo)s"'),
    ("Grip-Keep-Alive", "event: keep-alive\\ndata:\\n\\n; format=cstring; timeout=20"),
]
BODY = b"event: stream-open\ndata:\n\n"


def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
    start_response("200 OK", HEADERS)
    return [BODY]
