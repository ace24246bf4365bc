"""Storing events in django-eventstream's storage, a batch at a time.

django-eventstream's DjangoModelStorage.append_event costs five to seven
queries per event (counter get-or-create, a locked re-read, the insert, the
counter update, a savepoint, and a trim query that runs on every append): about
1 ms an event on SQLite, which caps a publisher near 1,000 events a second. For
that storage, `append_events` writes the same rows into the same tables with a
handful of queries per channel per batch (counter, one executemany insert,
counter update) and trims expired events once a minute instead of on every
append. Readers
(the events view, Last-Event-ID replay) cannot tell the difference. Any other
storage gets its own append_event, one event at a time.

The delivery engine reaches the database only through a `Store`
(`EventStore` here); unit tests hand it another.
"""

from __future__ import annotations

import contextlib
import datetime
import json
import logging
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from django_eventstream.storage import DjangoModelStorage

from dashboards_live.contract import Event, Published
from dashboards_live.errors import PublishError

if TYPE_CHECKING:
    from django.db.backends.base.base import BaseDatabaseWrapper


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

        for p in published:
            if p.id is not None:
                # best effort: the publish already failed, and that is what gets reported
                with contextlib.suppress(DatabaseError):
                    Row.objects.filter(channel=p.event.channel, eid=p.id).delete()

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
                with _advisory_locks(connection, sorted({lock_key(c) for c in channels}), deadline):
                    yield
                return
            path = _lock_file(connection)
        except DatabaseError as exc:
            _drop_broken_connection()
            raise PublishError(f"could not store the event(s) in the database: {one_line(exc)}") from None
        if path is None:
            yield  # an in-memory database: one process only
            return
        with _file_lock(path, deadline):
            yield


CHANNEL_LOCKS = 0x63686E6C  # "chnl": the first key of the per-channel publish locks (an int4)
LOCK_POLL = 0.002  # seconds between attempts while another publisher holds a channel


def lock_key(text: str) -> int:
    """An advisory lock's second key for `text`: its CRC-32 as a signed int4 (PostgreSQL's int)."""
    import zlib

    value = zlib.crc32(text.encode("utf-8"))
    return value - 2**32 if value >= 2**31 else value


@contextlib.contextmanager
def _advisory_locks(connection: BaseDatabaseWrapper, keys: list[int], deadline: float) -> Iterator[None]:
    taken: list[int] = []
    try:
        with connection.cursor() as cursor:
            for key in keys:  # in key order: two publishers of the same channels cannot deadlock
                while True:
                    cursor.execute("SELECT pg_try_advisory_lock(%s, %s)", [CHANNEL_LOCKS, key])
                    row = cursor.fetchone()
                    if row is not None and row[0]:
                        taken.append(key)
                        break
                    if time.monotonic() >= deadline:
                        raise PublishError("another publisher of the channel held it past the timeout")
                    time.sleep(LOCK_POLL)
        yield
    finally:
        if taken:
            with contextlib.suppress(Exception), connection.cursor() as cursor:
                for key in taken:
                    cursor.execute("SELECT pg_advisory_unlock(%s, %s)", [CHANNEL_LOCKS, key])


def _lock_file(connection: BaseDatabaseWrapper) -> str | None:
    name = str(connection.settings_dict.get("NAME") or "")
    if not name or name == ":memory:" or name.startswith("file:") or "mode=memory" in name:
        return None
    return name + ".publish-lock"


@contextlib.contextmanager
def _file_lock(path: str, deadline: float) -> Iterator[None]:
    import fcntl
    import os

    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    raise PublishError("another publisher of the database held it past the timeout") from None
                time.sleep(LOCK_POLL)
        yield
    finally:
        os.close(fd)  # closing the descriptor releases the lock


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


INSERT_FIELDS = ("channel", "type", "data", "eid", "created")
TRIM_EVERY = 60.0  # seconds between trims of expired events (django-eventstream trims on every append)

TRIM_BATCH = 1000  # rows per DELETE: the longest a publisher waits behind a trim
BACKGROUND = True  # trims run on a thread of their own (tests: on the caller's)

_trim_lock = threading.Lock()
# the first trim comes a while after start: a one-off process (sendevent) never
# trims, the long-running ones (the loop, web and worker processes calling push())
# do, once a minute
_next_trim = time.monotonic() + 10.0
_trimming = False
logger = logging.getLogger("dashboards_live.publishing.storage")


def append_events(events: Sequence[Event]) -> list[Published]:
    """Append the events of reliable channels, in order, in one transaction."""
    from django.db import transaction
    from django_eventstream.utils import get_channelmanager, get_storage

    storage = get_storage()
    manager = get_channelmanager()
    reliable = storage is not None and all(manager.is_channel_reliable(c) for c in {e.channel for e in events})
    if not reliable or not isinstance(storage, DjangoModelStorage):
        return _append_one_by_one(events)
    by_channel: dict[str, list[int]] = {}
    for index, event in enumerate(events):
        by_channel.setdefault(event.channel, []).append(index)
    ids: list[int] = [0] * len(events)
    with transaction.atomic():
        for channel, indexes in by_channel.items():
            first = _append_to_channel(channel, [events[i] for i in indexes])
            for offset, index in enumerate(indexes):
                ids[index] = first + offset
    maybe_trim()
    _checkpoint_soon()
    return [Published(event, event_id) for event, event_id in zip(events, ids, strict=True)]


def _append_to_channel(channel: str, events: Sequence[Event]) -> int:
    """Insert the events with consecutive ids; returns the first id. Call inside a transaction."""
    from django.db import connections, router
    from django.utils import timezone
    from django_eventstream.models import Event as Row
    from django_eventstream.models import EventCounter

    connection = connections[router.db_for_write(Row)]
    now = timezone.now()
    # one statement takes the next ids and holds the counter's row lock until
    # commit, which serialises us with every other publisher of this channel
    # (send_event included): ids are never reused or skipped
    last = _advance_counter(connection, channel, len(events), now)
    if last is None:
        EventCounter.objects.get_or_create(name=channel)  # the channel's first event ever
        last = _advance_counter(connection, channel, len(events), now)
        assert last is not None
    first = last - len(events) + 1
    created = Row._meta.get_field("created").get_db_prep_save(now, connection)
    rows = [
        # data is always text (an Event is only built valid): plain json.dumps writes what
        # django-eventstream's DjangoJSONEncoder would, without building an encoder per row
        (channel, e.name, json.dumps(e.data), first + i, created)
        for i, e in enumerate(events)
    ]
    if first == 1:
        # as django-eventstream does: a placeholder with id 0 lets readers query from 0
        rows.insert(0, (channel, "", "", 0, created))
    # one executemany instead of the ORM's bulk_create: a third of the cost per event, measured
    with connection.cursor() as cursor:
        cursor.executemany(_insert_sql(connection), rows)
    return int(first)


def _advance_counter(connection: BaseDatabaseWrapper, channel: str, count: int, now: datetime.datetime) -> int | None:
    """Add `count` to the channel's counter and return its new value (None if the channel has no counter)."""
    from django_eventstream.models import EventCounter

    quote = connection.ops.quote_name
    table = quote(EventCounter._meta.db_table)
    updated = EventCounter._meta.get_field("updated").get_db_prep_save(now, connection)
    with connection.cursor() as cursor:
        # RETURNING: SQLite 3.35+ and PostgreSQL
        cursor.execute(
            f"UPDATE {table} SET {quote('value')} = {quote('value')} + %s, {quote('updated')} = %s "
            f"WHERE {quote('name')} = %s RETURNING {quote('value')}",
            [count, updated, channel],
        )
        row = cursor.fetchone()
    return None if row is None else int(row[0])


def _insert_sql(connection: BaseDatabaseWrapper) -> str:
    from django_eventstream.models import Event as Row

    quote = connection.ops.quote_name
    columns = ", ".join(quote(Row._meta.get_field(name).column) for name in INSERT_FIELDS)
    values = ", ".join(["%s"] * len(INSERT_FIELDS))
    return f"INSERT INTO {quote(Row._meta.db_table)} ({columns}) VALUES ({values})"


def storage_for(channel: str) -> Any:
    """django-eventstream's storage if this channel's events are stored, else None."""
    from django_eventstream.utils import get_channelmanager, get_storage

    storage = get_storage()
    if storage is not None and get_channelmanager().is_channel_reliable(channel):
        return storage
    return None


def _append_one_by_one(events: Sequence[Event]) -> list[Published]:
    from django.db import transaction

    out = []
    with transaction.atomic():
        for event in events:
            storage = storage_for(event.channel)
            if storage is not None:
                stored = storage.append_event(event.channel, event.name, event.data)
                out.append(Published(event, int(stored.id)))
            else:
                out.append(Published(event, None))
    return out


CHECKPOINT_EVERY = 0.2  # seconds between SQLite WAL checkpoints while a process stores events (cheap when few)
_checkpointer_pid: int | None = None


def _checkpoint_soon() -> None:
    """SQLite: make sure this process checkpoints the WAL on a thread of its own.

    SQLite checkpoints inside the commit of whichever publisher crosses
    wal_autocheckpoint: a stall of several milliseconds every hundred events at
    the default, the p99 of every publish. The settings raise the threshold
    tenfold (a rare backstop) and this thread does the work as it goes, with
    passive checkpoints that never block writers or readers. Measured: store
    p99 4.0 ms -> 0.5 ms, the WAL file under 45 MB.
    """
    global _checkpointer_pid
    import os

    from django.db import connections, router
    from django_eventstream.models import Event as Row

    alias = router.db_for_write(Row)
    if not BACKGROUND or connections[alias].vendor != "sqlite" or _checkpointer_pid == os.getpid():
        return
    _checkpointer_pid = os.getpid()  # a forked child starts its own
    threading.Thread(target=_checkpoint_forever, args=(alias,), name="wal-checkpoint", daemon=True).start()


def _checkpoint_forever(alias: str) -> None:
    from django.db import DatabaseError, connections

    while True:
        try:
            with connections[alias].cursor() as cursor:
                cursor.execute("PRAGMA wal_checkpoint(PASSIVE)")
        except DatabaseError as exc:
            logger.debug("WAL checkpoint failed (retrying): %s", exc)
        time.sleep(CHECKPOINT_EVERY)


def maybe_trim(now: float | None = None) -> bool:
    """Trim stored events (retention) at most once per TRIM_EVERY; True if a trim was started.

    The trim runs on a thread of its own, in small batches, so the publish that
    happens to start it is not held up (BACKGROUND = False: on the caller's
    thread, as the unit tests need it inside their transaction).
    """
    global _next_trim, _trimming
    now = time.monotonic() if now is None else now
    with _trim_lock:
        if now < _next_trim or _trimming:
            return False
        _next_trim = now + TRIM_EVERY
        _trimming = True
    if BACKGROUND:
        threading.Thread(target=_trim_and_close, name="trim", daemon=True).start()
    else:
        _trim_and_close(close=False)
    return True


def _trim_and_close(close: bool = True) -> None:
    global _trimming
    from django.db import DatabaseError, connections

    try:
        deleted = trim()
        if deleted:
            logger.info("retention: %d stored event(s) trimmed", deleted)
    except DatabaseError as exc:
        logger.warning("retention: trimming stored events failed, retrying in %.0f s: %s", TRIM_EVERY, exc)
    finally:
        _trimming = False
        if close:
            connections.close_all()  # this thread's own connections


def trim(*, now: datetime.datetime | None = None, batch: int = TRIM_BATCH) -> int:
    """Delete stored events past retention (DASHBOARDS_RETENTION, DASHBOARDS_RETENTION_EVENTS).

    The newest event of every (channel, event name) is kept whatever its age,
    so the late-join page still shows every component; a browser whose
    Last-Event-ID was trimmed gets django-eventstream's stream-reset. Each
    batch is a statement of its own, so publishers wait at most one batch.
    """
    from django.db import connections, router
    from django.utils import timezone
    from django_eventstream.models import Event as Row
    from django_eventstream.models import EventCounter

    from dashboards_live.conf import retention

    age, cap = retention()
    cutoff = (timezone.now() if now is None else now) - datetime.timedelta(seconds=age)
    connection = connections[router.db_for_write(Row)]
    quote = connection.ops.quote_name
    table = quote(Row._meta.db_table)
    col = {name: quote(Row._meta.get_field(name).column) for name in ("id", "channel", "type", "eid", "created")}
    superseded = (
        f"EXISTS (SELECT 1 FROM {table} n WHERE n.{col['channel']} = e.{col['channel']} "
        f"AND n.{col['type']} = e.{col['type']} AND n.{col['eid']} > e.{col['eid']})"
    )
    passes: list[tuple[str, list[Any]]] = [
        (f"e.{col['created']} < %s", [Row._meta.get_field("created").get_db_prep_save(cutoff, connection)])
    ]
    if cap:
        for name, value in EventCounter.objects.filter(value__gt=cap).values_list("name", "value"):
            passes.append((f"e.{col['channel']} = %s AND e.{col['eid']} <= %s", [name, value - cap]))
    deleted = 0
    for condition, params in passes:
        sql = (
            f"DELETE FROM {table} WHERE {col['id']} IN (SELECT e.{col['id']} FROM {table} e "
            f"WHERE {condition} AND e.{col['eid']} > 0 AND {superseded} LIMIT %s)"
        )
        while True:
            with connection.cursor() as cursor:
                cursor.execute(sql, [*params, batch])
                count = cursor.rowcount
            deleted += max(count, 0)
            if count < batch:
                break
    return deleted


class Storage(DjangoModelStorage):  # type: ignore[misc]
    """DjangoModelStorage with the per-connect query made cheap.

    Every SSE connect asks for the channel's current event id (so Pushpin can
    tell whether a subscriber missed anything). The ORM spends most of that
    request's database time building the query; one indexed lookup by name in
    plain SQL gives the same answer at a fraction of the cost. Appends go
    through append_events above, which recognises this class as the model storage.
    """

    def get_current_id(self, channel: str) -> int:
        from django.db import connections, router
        from django_eventstream.models import EventCounter

        connection = connections[router.db_for_read(EventCounter)]
        table = connection.ops.quote_name(EventCounter._meta.db_table)
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT value FROM {table} WHERE name = %s", [channel])
            row = cursor.fetchone()
        return int(row[0]) if row else 0


@dataclass(frozen=True)
class Last:
    """The last stored event of one component: its data (the fragment) and when it was stored."""

    data: str
    created: datetime.datetime


def last_events(channel: str, keys: Sequence[str]) -> dict[str, Last]:
    """The last stored event for each of `keys` on `channel`, so late joiners see current values.

    One statement, one index probe per key (the (channel, type, eid) index of
    this app's migration): its cost does not grow with the events stored.
    """
    from django.db import connections, router
    from django_eventstream.models import Event as Row

    keys = list(dict.fromkeys(keys))
    if not keys or storage_for(channel) is None:
        return {}
    connection = connections[router.db_for_read(Row)]
    quote = connection.ops.quote_name
    table = quote(Row._meta.db_table)
    one = (
        f"SELECT * FROM (SELECT {quote('type')}, {quote('data')}, {quote('created')} FROM {table} "
        f"WHERE {quote('channel')} = %s AND {quote('type')} = %s ORDER BY {quote('eid')} DESC LIMIT 1) AS k{{i}}"
    )
    sql = " UNION ALL ".join(one.format(i=i) for i in range(len(keys)))
    params = [value for key in keys for value in (channel, key)]
    created_field = Row._meta.get_field("created")
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    out = {}
    for kind, data, created in rows:
        when = created_field.to_python(created) if isinstance(created, str) else created
        out[kind] = Last(_decoded(data), _aware(when))
    return out


def _aware(when: datetime.datetime) -> datetime.datetime:
    from django.utils import timezone

    return when if timezone.is_aware(when) else timezone.make_aware(when, datetime.UTC)


def _decoded(data: str) -> str:
    # django-eventstream stores data as JSON; ours is always a JSON string
    value = json.loads(data)
    return value if isinstance(value, str) else json.dumps(value)
