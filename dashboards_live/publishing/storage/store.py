"""The Store: where the delivery engine keeps events, and EventStore, the one over the database.

The delivery engine reaches the database only through a `Store`; unit tests
hand it another.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager
from typing import Protocol

from dashboards_live.contract import Event, Published
from dashboards_live.errors import PublishError
from dashboards_live.publishing.storage.append import append_events
from dashboards_live.publishing.storage.eventstream import storage_for
from dashboards_live.publishing.storage.locks import advisory_locks, file_lock, lock_file, lock_key


class Store(Protocol):
    """Where the delivery engine keeps events so that replay and late-join pages find them."""

    def append(self, events: Sequence[Event]) -> list[Published]:
        """Store the events of reliable channels (in order, ids consecutive per channel); PublishError on failure."""
        ...

    def withdraw(self, published: Sequence[Published]) -> None:
        """Delete stored events that no Pushpin took (best effort)."""
        ...

    def next_id(self, channel: str) -> int | None:
        """The id the next event on `channel` would get, or None if the channel is not stored."""
        ...

    def refresh(self) -> None:
        """Drop connections that are stale or broken (a long-running process calls it between batches)."""
        ...

    def serialized(self, channels: Sequence[str], timeout: float) -> AbstractContextManager[None]:
        """Publishers of `channels`, in every process, one at a time from storing to posting.

        PublishError if another publisher holds them longer than `timeout`.
        """
        ...


class EventStore:
    """The Store over django-eventstream's storage, in the default database."""

    def append(self, events: Sequence[Event]) -> list[Published]:
        from django.db import DatabaseError

        try:
            return append_events(events)
        except DatabaseError as exc:
            _drop_broken_connection()
            raise PublishError(f"could not store the event(s) in the database: {one_line(exc)}") from None

    def withdraw(self, published: Sequence[Published]) -> None:
        from django.db import DatabaseError
        from django_eventstream.models import Event as Row

        from dashboards_live.models import ComponentState

        for p in published:
            if p.id is not None:
                # best effort: the publish already failed, and that is what gets reported
                with contextlib.suppress(DatabaseError):
                    Row.objects.filter(channel=p.event.channel, eid=p.id).delete()
                    # the next value builds on the state before this one again
                    ComponentState.objects.filter(channel=p.event.channel, eid=p.id).delete()

    def next_id(self, channel: str) -> int | None:
        from django.db import DatabaseError

        try:
            storage = storage_for(channel)
            return None if storage is None else int(storage.get_current_id(channel)) + 1
        except DatabaseError as exc:
            _drop_broken_connection()
            raise PublishError(f"could not read the event storage: {one_line(exc)}") from None

    def refresh(self) -> None:
        from django.db import close_old_connections

        close_old_connections()

    @contextlib.contextmanager
    def serialized(self, channels: Sequence[str], timeout: float) -> Iterator[None]:
        """Store-then-post of these channels one publisher at a time, across processes.

        Pushpin checks each item's previous id against what its listeners last
        got: a publisher that stored ids 11-20 but posts after another's 21-30
        sends every listener back to Django for the events it "missed" (one
        request per listener, thousands at once). Holding the channels from
        storing to posting keeps Pushpin's chain whole. PostgreSQL: advisory
        locks on Django's own connection; SQLite (one host): a lock file beside
        the database.
        """
        from django.db import DatabaseError, connections, router
        from django_eventstream.models import Event as Row

        connection = connections[router.db_for_write(Row)]
        deadline = time.monotonic() + timeout
        try:
            if connection.vendor == "postgresql":
                with advisory_locks(connection, sorted({lock_key(c) for c in channels}), deadline):
                    yield
                return
            path = lock_file(connection)
        except DatabaseError as exc:
            _drop_broken_connection()
            raise PublishError(f"could not store the event(s) in the database: {one_line(exc)}") from None
        if path is None:
            yield  # an in-memory database: one process only
            return
        with file_lock(path, deadline):
            yield


def _drop_broken_connection() -> None:
    """After a database error, this thread's next attempt opens a new connection.

    Django would go on using a connection the server closed (a restart, a
    failover) and fail every retry; closing it is what lets the loop's retries
    succeed once the database is back.
    """
    from django.db import connections, router
    from django_eventstream.models import Event as Row

    connection = connections[router.db_for_write(Row)]
    if not connection.in_atomic_block:
        with contextlib.suppress(Exception):
            connection.close()


def check_database() -> None:
    """PublishError (exit 1) if the database does not answer: a loop should not start blind."""
    from django.db import DatabaseError, connections, router
    from django_eventstream.models import Event as Row

    connection = connections[router.db_for_write(Row)]
    try:
        connection.ensure_connection()
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
    except DatabaseError as exc:
        _drop_broken_connection()
        raise PublishError(f"the database is unreachable: {one_line(exc)}") from None


def one_line(exc: BaseException) -> str:
    """A database error's message on one line (psycopg's span several)."""
    return " ".join(str(exc).split())
