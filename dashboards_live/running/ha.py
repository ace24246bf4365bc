"""Several feed hosts, one active loop per feed: PostgreSQL advisory locks as leases.

`runeventloop --ha` on several hosts runs every feed everywhere, but only the
process holding a feed's lock calls it and publishes it. The locks live on a
connection of their own (never Django's, which the feeds and storage use and
may drop between ticks), so they are held exactly as long as that session is.

- A holder that dies (SIGKILL, a crash, the host gone) closes its session, or
  the server ends it once it has been silent for the lease
  (`idle_session_timeout`): PostgreSQL releases its locks, and another process
  takes them at its next attempt (every lease / 5 seconds).
- A holder whose connection is cut stops publishing at once: before a tick of
  held feeds runs, the scheduler confirms the session with one query
  (`confirm`), and a session not confirmed within half the lease counts as
  lost. A standby can only have taken a lock after the old session ended, and
  in --ha mode ticks sit on the wall-clock grid, so the new holder's first
  tick comes after the old holder's last: no tick is published by two hosts.

The connection is made by a function handed in (`connect`), so tests can give
it another one.
"""

from __future__ import annotations

import contextlib
import logging
import os
import socket
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from dashboards_live.declaring.feeds import Feed
from dashboards_live.publishing.storage import lock_key as lock_key  # the feeds' lock keys, as the channels'

logger = logging.getLogger("dashboards_live.running.ha")

NAMESPACE = 0x64617368  # "dash": the first key of every lock we take (an int4)
APPLICATION = "dashboards_live ha"


class Session(Protocol):
    """The few things a lease needs from a database session (a psycopg connection)."""

    def execute(self, query: str, params: Sequence[Any] = ()) -> Any: ...

    def close(self) -> None: ...


def identity(name: str, channel: str) -> str:
    """What a lease is for: a feed on a channel (one feed on two channels is two leases)."""
    return f"{name}@{channel}"


def holder_name() -> str:
    return f"{APPLICATION} {socket.gethostname()}:{os.getpid()}"


def colliding(identities: Iterable[str]) -> list[tuple[str, str]]:
    """Pairs of identities whose lock keys collide (they could not be held apart)."""
    seen: dict[int, str] = {}
    out = []
    for ident in identities:
        key = lock_key(ident)
        if key in seen and seen[key] != ident:
            out.append((seen[key], ident))
        seen.setdefault(key, ident)
    return out


@dataclass
class Lease:
    identity: str
    key: int
    held: bool = False
    since: float | None = None  # monotonic time it was taken


class Leases:
    """The advisory locks of this process's feeds; `refresh()` keeps them, `holds()` says which are ours."""

    def __init__(
        self,
        identities: Sequence[str],
        connect: Callable[[], Session],
        *,
        lease: float = 5.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.leases = {i: Lease(i, lock_key(i)) for i in identities}
        self.connect = connect
        self.lease = lease
        self.clock = clock
        self.session: Session | None = None
        self.confirmed_at: float | None = None
        self.lock = threading.Lock()  # the session is used by the lease thread and the scheduler
        self.failures = 0

    @classmethod
    def for_feeds(cls, feeds: Sequence[Feed], connect: Callable[[], Session], *, lease: float = 5.0) -> Leases:
        return cls([identity(f.name, f.channel) for f in feeds], connect, lease=lease)

    # -- what the scheduler asks -------------------------------------------
    def holds(self, feed: Feed) -> bool:
        lease = self.leases.get(identity(feed.name, feed.channel))
        return lease is not None and lease.held and self._fresh()

    def held(self) -> list[str]:
        return sorted(i for i, lease in self.leases.items() if lease.held and self._fresh())

    def confirm(self) -> bool:
        """One round trip on the lock session just before held feeds publish; False (nothing held) if it is gone."""
        if not any(lease.held for lease in self.leases.values()):
            return False  # nothing to confirm (and no waiting behind a reconnect)
        with self.lock:
            if self.session is None or not any(lease.held for lease in self.leases.values()):
                return False
            try:
                self.session.execute("SELECT 1")
            except Exception as exc:
                self._lost(exc)
                return False
            self.confirmed_at = self.clock()
            return True

    def _fresh(self) -> bool:
        return self.confirmed_at is not None and self.clock() - self.confirmed_at <= self.lease / 2

    # -- what the lease thread does ----------------------------------------
    def refresh(self) -> None:
        """Connect if needed, confirm the session, try to take every lease not held."""
        with self.lock:
            try:
                if self.session is None:
                    self.session = self.connect()
                    logger.info("lease session open (%s)", holder_name())
                wanted = [lease for lease in self.leases.values() if not lease.held]
                if wanted:
                    taken = self._try_lock([lease.key for lease in wanted])
                    for lease, got in zip(wanted, taken, strict=True):
                        if got:
                            lease.held, lease.since = True, self.clock()
                            logger.info("took over feed %s", lease.identity)
                else:
                    self.session.execute("SELECT 1")
                self.confirmed_at = self.clock()
                if self.failures:
                    logger.info("lease session works again after %d failed attempt(s)", self.failures)
                self.failures = 0
            except Exception as exc:
                self._lost(exc)

    def _try_lock(self, keys: list[int]) -> list[bool]:
        assert self.session is not None
        cursor = self.session.execute(
            "SELECT pg_try_advisory_lock(%s::int, k) FROM unnest(%s::int[]) WITH ORDINALITY AS t(k, n) ORDER BY n",
            (NAMESPACE, keys),
        )
        return [bool(row[0]) for row in cursor.fetchall()]

    def _lost(self, exc: Exception) -> None:
        had = [lease.identity for lease in self.leases.values() if lease.held]
        for lease in self.leases.values():
            lease.held, lease.since = False, None
        self.confirmed_at = None
        self.failures += 1
        if had:
            logger.error("lease session lost (%s): stopped publishing %s", exc, ", ".join(had))
        elif self.failures == 1 or self.failures % 30 == 0:
            logger.warning("lease session: %s (attempt %d)", exc, self.failures)
        if self.session is not None:
            with contextlib.suppress(Exception):  # it is gone either way
                self.session.close()
        self.session = None

    def release(self) -> None:
        """Give every lease back (a clean stop): the standby takes over at its next attempt."""
        with self.lock:
            if self.session is not None:
                with contextlib.suppress(Exception):  # closing the session releases them anyway
                    self.session.execute("SELECT pg_advisory_unlock_all()")
                    self.session.close()
            self.session = None
            for lease in self.leases.values():
                lease.held, lease.since = False, None

    def run(self, stop: threading.Event) -> None:
        """The lease thread: refresh every lease / 5 seconds until `stop` is set."""
        while not stop.is_set():
            self.refresh()
            stop.wait(self.lease / 5)


def holders(session: Session) -> dict[int, str]:
    """Who holds each of our locks now (lock key -> application name of the holding session)."""
    cursor = session.execute(
        "SELECT l.objid::int, a.application_name FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid "
        "WHERE l.locktype = 'advisory' AND l.granted AND l.classid::bigint = %s",
        (NAMESPACE,),
    )
    return {int(key): str(name) for key, name in cursor.fetchall()}


def connector(lease: float) -> Callable[[], Session]:
    """A function opening the lock session to Django's default database (PostgreSQL only)."""
    from django.db import connections

    wrapper = connections["default"]
    if wrapper.vendor != "postgresql":
        raise NotPostgres(f"--ha needs PostgreSQL: DATABASE_URL is {wrapper.vendor} (advisory locks are PostgreSQL's)")

    def connect() -> Session:
        import psycopg

        params = dict(wrapper.get_connection_params())
        params.pop("cursor_factory", None)
        params.pop("context", None)
        params.pop("server_side_binding", None)
        timeout_ms = int(lease * 1000)
        options = f"-c idle_session_timeout={timeout_ms} -c statement_timeout={timeout_ms // 2}"
        params.update(
            options=f"{params.get('options', '')} {options}".strip(),
            application_name=holder_name(),
            connect_timeout=max(1, int(lease / 2)),
            # a silent network must not keep the lease: the kernel gives up on unanswered writes
            tcp_user_timeout=timeout_ms // 2,
            keepalives=1,
            keepalives_idle=max(1, int(lease / 2)),
            keepalives_interval=1,
            keepalives_count=2,
        )
        return psycopg.connect(**params, autocommit=True)

    return connect


class NotPostgres(ValueError):
    """--ha with a database that has no advisory locks."""
