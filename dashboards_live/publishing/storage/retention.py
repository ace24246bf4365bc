"""Retention: trimming stored events past their age or the per-channel cap, once a minute.

django-eventstream trims on every append; publishers here trim at most once
per TRIM_EVERY, on a thread of their own, in small batches.
"""

from __future__ import annotations

import datetime
import logging
import threading
import time
from typing import Any

from dashboards_live.publishing.storage import background

TRIM_EVERY = 60.0  # seconds between trims of expired events (django-eventstream trims on every append)

TRIM_BATCH = 1000  # rows per DELETE: the longest a publisher waits behind a trim

_trim_lock = threading.Lock()
# the first trim comes a while after start: a one-off process (sendevent) never
# trims, the long-running ones (the loop, web and worker processes calling push())
# do, once a minute
_next_trim = time.monotonic() + 10.0
_trimming = False
logger = logging.getLogger("dashboards_live.publishing.storage.retention")


def maybe_trim(now: float | None = None) -> bool:
    """Trim stored events (retention) at most once per TRIM_EVERY; True if a trim was started.

    The trim runs on a thread of its own, in small batches, so the publish that
    happens to start it is not held up (background.BACKGROUND = False: on the
    caller's thread, as the unit tests need it inside their transaction).
    """
    global _next_trim, _trimming
    now = time.monotonic() if now is None else now
    with _trim_lock:
        if now < _next_trim or _trimming:
            return False
        _next_trim = now + TRIM_EVERY
        _trimming = True
    if background.BACKGROUND:
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
    _trim_states(connection, table, col)
    return deleted


def _trim_states(connection: Any, events: str, col: dict[str, str]) -> None:
    """Delete states whose event is gone, except the newest state of each component."""
    from dashboards_live.models import ComponentState

    quote = connection.ops.quote_name
    table = quote(ComponentState._meta.db_table)
    channel, key, eid = quote("channel"), quote("key"), quote("eid")
    with connection.cursor() as cursor:
        cursor.execute(
            f"DELETE FROM {table} WHERE NOT EXISTS (SELECT 1 FROM {events} e WHERE e.{col['channel']} = "
            f"{table}.{channel} AND e.{col['eid']} = {table}.{eid}) AND EXISTS (SELECT 1 FROM {table} n "
            f"WHERE n.{channel} = {table}.{channel} AND n.{key} = {table}.{key} AND n.{eid} > {table}.{eid})"
        )
