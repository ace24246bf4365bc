"""What Pushpin's log says about the requests it makes to Django by itself.

Pushpin goes back to Django on its own to follow a stream's next link or to
catch held streams up (`link=next`, with `recover=true` when it saw a gap). One
such request can answer many held streams at once: zurl logs the request once
("[zurl] IN"), and the handler logs a "[handler] GET" line for every stream the
answer reached. Count the first to know Django's load, the second to know how
many streams were caught up.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class HandlerRequests:
    requests: int  # requests Django received from Pushpin's handler
    streams: int  # held streams those answers reached

    def __sub__(self, other: HandlerRequests) -> HandlerRequests:
        return HandlerRequests(self.requests - other.requests, self.streams - other.streams)

    def __add__(self, other: HandlerRequests) -> HandlerRequests:
        return HandlerRequests(self.requests + other.requests, self.streams + other.streams)


NONE = HandlerRequests(0, 0)


def count(lines: Iterable[bytes], path: bytes = b"") -> HandlerRequests:
    """Handler-made requests in log lines, for URLs containing `path` (all when empty)."""
    requests = streams = 0
    for line in lines:
        if b"link=next" not in line or path not in line:
            continue
        if b"[zurl] IN" in line:
            requests += 1
        elif b"[handler] GET" in line:
            streams += 1
    return HandlerRequests(requests, streams)


def read(logs: Iterable[Path], path: str = "") -> HandlerRequests:
    """The sum over Pushpin logs (a missing log counts nothing)."""
    total = NONE
    for log in logs:
        if log.exists():
            with log.open("rb") as f:
                total += count(f, path.encode())
    return total
