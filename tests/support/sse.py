"""A real SSE client over a real socket, parsing frames as a browser would."""

from __future__ import annotations

import contextlib
import http.client
import queue
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass
class SSEEvent:
    event: str
    data: str
    id: str | None
    received_at: float = field(default=0.0, compare=False)
    raw: bytes = field(default=b"", compare=False, repr=False)  # the frame's bytes as they came


class SSEClient:
    """Connects, then reads events on a thread; `wait_for` collects them."""

    def __init__(self, url: str, headers: dict[str, str] | None = None, timeout: float = 10.0) -> None:
        from urllib.parse import urlsplit

        parts = urlsplit(url)
        self.conn = http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port or 80, timeout=timeout)
        path = parts.path + (f"?{parts.query}" if parts.query else "")
        self.conn.request("GET", path, headers={"Accept": "text/event-stream", **(headers or {})})
        self.response = self.conn.getresponse()
        self.status = self.response.status
        self.headers = dict(self.response.getheaders())
        self.events: list[SSEEvent] = []
        self.queue: queue.Queue[SSEEvent | None] = queue.Queue()
        self.closed = threading.Event()
        self.raw = bytearray()
        if self.status == 200:
            self.thread = threading.Thread(target=self._read, daemon=True)
            self.thread.start()
        else:
            self.body = self.response.read()
            self.closed.set()

    def _read(self) -> None:
        event, last_id = "message", None
        data: list[str] = []
        has_data = False
        frame = bytearray()
        try:
            while True:
                line_bytes = self.response.readline()
                if not line_bytes:
                    break
                self.raw += line_bytes
                frame += line_bytes
                line = line_bytes.decode("utf-8").rstrip("\n")
                if line.endswith("\r"):
                    line = line[:-1]
                if line == "":
                    if has_data:
                        item = SSEEvent(event, "\n".join(data), last_id, time.monotonic(), bytes(frame))
                        self.events.append(item)
                        self.queue.put(item)
                    event, data, has_data = "message", [], False
                    frame = bytearray()
                    continue
                if line.startswith(":"):
                    continue
                name, _, value = line.partition(":")
                if value.startswith(" "):
                    value = value[1:]
                if name == "event":
                    event = value
                elif name == "data":
                    data.append(value)
                    has_data = True
                elif name == "id":
                    last_id = value
        except (OSError, ValueError, AttributeError, http.client.HTTPException):
            pass
        finally:
            self.closed.set()
            self.queue.put(None)

    def wait_for(self, predicate: Callable[[list[SSEEvent]], bool], timeout: float = 10.0) -> list[SSEEvent]:
        deadline = time.monotonic() + timeout
        while not predicate(self.events):
            remaining = deadline - time.monotonic()
            if remaining <= 0 or (self.closed.is_set() and self.queue.empty()):
                break
            with contextlib.suppress(queue.Empty):
                self.queue.get(timeout=min(remaining, 0.2))
        return list(self.events)

    def named(self, name: str) -> list[SSEEvent]:
        return [e for e in self.events if e.event == name]

    def close(self) -> None:
        try:
            if self.conn.sock is not None:
                self.conn.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self.conn.close()

    def __enter__(self) -> SSEClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
