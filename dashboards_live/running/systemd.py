"""systemd's service notification protocol (sd_notify), as documented in sd_notify(3).

A Type=notify service tells systemd it is ready, what it is doing and that it is
still alive by sending newline-separated `KEY=VALUE` assignments, one datagram
at a time, to the AF_UNIX socket named in $NOTIFY_SOCKET (a leading "@" means
the abstract namespace). With WatchdogSec= set, systemd passes $WATCHDOG_USEC
(and $WATCHDOG_PID) and expects `WATCHDOG=1` more often than that; the advice is
every half of it. Without $NOTIFY_SOCKET every method does nothing.

The watchdog is pinged by `heartbeat()`, which the loop calls from its scheduler
thread: a feed that hangs the scheduler stops the pings and systemd restarts the
service, where a side thread would keep pinging a stuck loop.
"""

from __future__ import annotations

import logging
import os
import socket
import time
from collections.abc import Callable, Mapping

logger = logging.getLogger("dashboards_live.running.systemd")

SEND_TIMEOUT = 0.05  # seconds a full socket queue may hold up one message


def notify_address(value: str) -> str | None:
    """The socket address for a $NOTIFY_SOCKET value, or None if unusable."""
    if value.startswith("@"):
        return "\0" + value[1:]
    if value.startswith("/"):
        return value
    return None  # vsock: and other families are not used by service managers we support


def watchdog_interval(environ: Mapping[str, str], pid: int) -> float | None:
    """Seconds between WATCHDOG=1 pings (half of WATCHDOG_USEC), or None when no watchdog is asked for."""
    raw = environ.get("WATCHDOG_USEC", "")
    owner = environ.get("WATCHDOG_PID", "")
    if owner and owner != str(pid):
        return None  # meant for another process (we were started by the service's main process)
    try:
        usec = int(raw)
    except ValueError:
        return None
    return usec / 2 / 1_000_000 if usec > 0 else None


class Notifier:
    def __init__(
        self,
        environ: Mapping[str, str] | None = None,
        *,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        env = os.environ if environ is None else environ
        self.monotonic = monotonic
        self.address = notify_address(env.get("NOTIFY_SOCKET", ""))
        if env.get("NOTIFY_SOCKET") and self.address is None:
            logger.warning("NOTIFY_SOCKET=%r is not a unix socket path; not notifying systemd", env["NOTIFY_SOCKET"])
        self.watchdog_every = watchdog_interval(env, os.getpid()) if self.address else None
        self._next_watchdog = 0.0
        self._sock: socket.socket | None = None
        self._warned = False

    @property
    def enabled(self) -> bool:
        return self.address is not None

    def send(self, *assignments: str) -> bool:
        """Send one datagram of KEY=VALUE lines; never blocks for long, never raises."""
        if self.address is None:
            return False
        message = "\n".join(a.replace("\n", " ") for a in assignments).encode()
        try:
            if self._sock is None:
                self._sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC)
                # systemd reads at once; a listener that does not must not stall the scheduler
                self._sock.settimeout(SEND_TIMEOUT)
            self._sock.sendto(message, self.address)
        except OSError as exc:
            if not self._warned:
                self._warned = True
                logger.warning("cannot notify systemd at %s: %s", self.address.replace("\0", "@"), exc)
            return False
        return True

    def ready(self, status: str) -> None:
        self.send("READY=1", f"STATUS={status}")

    def status(self, status: str) -> None:
        self.send(f"STATUS={status}")

    def stopping(self, status: str = "stopping") -> None:
        self.send("STOPPING=1", f"STATUS={status}")

    def heartbeat(self, now: float | None = None) -> None:
        """Ping the watchdog if half its interval has passed since the last ping."""
        if self.watchdog_every is None:
            return
        now = self.monotonic() if now is None else now
        if now >= self._next_watchdog:
            self._next_watchdog = now + self.watchdog_every
            self.send("WATCHDOG=1")

    def close(self) -> None:
        if self._sock is not None:
            self._sock.close()
            self._sock = None
