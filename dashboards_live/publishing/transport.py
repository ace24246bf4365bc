"""Transport: posting publish bodies to Pushpin's HTTP publish endpoint, every configured instance.

Synchronous, over one kept-alive connection per Pushpin, and bounded by a
deadline that covers connecting too: pubcontrol's HTTP call has no timeout,
and a Pushpin that accepts and never answers would hang the caller forever.
django-eventstream's `send_event` is not used: it publishes on a background
thread and drops failures silently. What a body holds is encoding's business,
when to post it the delivery engine's.
"""

from __future__ import annotations

import contextlib
import http.client
import socket
import threading
import time
from collections.abc import Sequence
from typing import Any

from dashboards_live import conf
from dashboards_live.conf import Target
from dashboards_live.errors import PublishError
from dashboards_live.publishing.encoding import encode_body, kick_items

TOKEN_LIFETIME = 3600  # seconds a publish JWT is valid


class PushpinClient:
    """Posts publish requests to Pushpin over one kept-alive connection."""

    def __init__(self, target: Target, timeout: float) -> None:
        self.target = target
        self.timeout = timeout
        self._conn: http.client.HTTPConnection | None = None
        self._token: tuple[str, float] | None = None  # (JWT, when to renew it)

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    def _headers(self) -> dict[str, str]:
        headers = {"Content-Type": "application/json"}
        if self.target.iss and self.target.key:
            now = time.time()
            if self._token is None or now >= self._token[1]:
                import jwt

                # valid for an hour, renewed after half of it: not one signature per publish
                token = jwt.encode({"iss": self.target.iss, "exp": int(now) + TOKEN_LIFETIME}, self.target.key)
                self._token = (str(token), now + TOKEN_LIFETIME / 2)
            headers["Authorization"] = f"Bearer {self._token[0]}"
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


class Transport:
    """Posts each body to every Pushpin instance (GRIP_URL's, then DASHBOARDS_PUBLISH_URLS'), in parallel.

    `timeout` is the bound the engine gives one delivery when its caller gives none.
    """

    def __init__(self, targets: Sequence[Target], timeout: float) -> None:
        if not targets:
            raise ValueError("no Pushpin to publish to")
        self.targets = list(targets)
        self.timeout = timeout
        self.clients = [PushpinClient(target, timeout) for target in self.targets]
        self._pool: Any = None
        if len(self.clients) > 1:
            from concurrent.futures import ThreadPoolExecutor

            self._pool = ThreadPoolExecutor(max_workers=len(self.clients), thread_name_prefix="pushpin")

    @classmethod
    def from_settings(cls, timeout: float | None = None) -> Transport:
        """From GRIP_URL, DASHBOARDS_PUBLISH_URLS and DASHBOARDS_PUBLISH_TIMEOUT; ConfigError if one is bad."""
        return cls(conf.publish_targets(), conf.publish_timeout() if timeout is None else timeout)

    @property
    def display(self) -> str:
        return ", ".join(t.display for t in self.targets)

    def close(self) -> None:
        for client in self.clients:
            client.close()
        if self._pool is not None:
            self._pool.shutdown(wait=False)

    def post(self, body: bytes, deadline: float) -> None:
        """Post one body to every Pushpin instance before `deadline` (time.monotonic()).

        Raises PublishError if any instance failed; `partial` on it is True when
        at least one other instance took the body (its subscribers have it).
        """
        if self._pool is None:
            self.clients[0].post(body, deadline)
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

    def end_streams(self, user_id: str, marker: str, text: str) -> None:
        """End the open streams of one user that carry `marker`; raises PublishError."""
        self.post(encode_body(kick_items(user_id, marker, text)), time.monotonic() + self.timeout)

    def ping(self) -> None:
        """Raise PublishError unless every Pushpin's publish endpoint answers."""
        self.post(encode_body([]), time.monotonic() + self.timeout)
