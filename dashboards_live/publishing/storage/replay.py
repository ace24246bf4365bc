"""Replay for a reconnect: what a client needs since its Last-Event-ID, not every event stored.

django-eventstream answers a Last-Event-ID with every stored event after it,
a hundred per request, and Pushpin follows the stream's next link for each
page: a client far behind costs Django a request per hundred events and the
history's worth of rows. A component's event carries its whole state, so it
makes the earlier ones of its name useless: `replay` reads only the newest of
each such name after the id, and of the names that are not whole state (a
log, or a send_event name no component declared: models.EventKind) the
newest DASHBOARDS_REPLAY_MAX_EVENTS. All keep their ids and come in id order,
so the client's Last-Event-ID ends on the newest. The reads are index probes,
a few per name stored on the channel, whatever the number of events.

Only a client's own resume is compacted. Pushpin's recovery of a gap it saw in
a live stream (a publish whose previous id it never got: a loop killed between
storing and posting, publishers racing) asks with `recover=true` and gets every
event it missed, as before: a subscriber that was never disconnected receives
every event once, in order (`compacting`, which the events view sets).
"""

from __future__ import annotations

import contextlib
import contextvars
from collections.abc import Iterator
from typing import Any

_COMPACTING = contextvars.ContextVar("dashboards_live_replay_compacting", default=True)


@contextlib.contextmanager
def compacting(on: bool) -> Iterator[None]:
    """Replays read inside this block are compacted (on) or in full (off)."""
    token = _COMPACTING.set(on)
    try:
        yield
    finally:
        _COMPACTING.reset(token)


def is_compacting() -> bool:
    return _COMPACTING.get()


# statements per UNION ALL at most (SQLite refuses more than 500)
TERMS_PER_STATEMENT = 200

Row = tuple[int, str, str]  # (eid, event name, data as stored)


def replay(channel: str, last_id: int, limit: int, max_in_full: int) -> list[Row]:
    """The first `limit` events a client at `last_id` on `channel` needs, in id order.

    The newest event after `last_id` of each whole-state name, and the events
    after `last_id` among the newest `max_in_full` of the other names. A page
    read from a later id (django-eventstream's next link) continues the same
    list.
    """
    from django.db import connections, router
    from django_eventstream.models import Event as Stored

    connection = connections[router.db_for_read(Stored)]
    names = stored_names(connection, channel)
    whole = [name for name, is_whole in names.items() if is_whole]
    logs = [name for name, is_whole in names.items() if not is_whole]
    t = Columns(connection)
    # each a probe of the (channel, type, eid) index; parameters: channel, name, an id
    where = f"FROM {t.table} WHERE {t.channel} = %s AND {t.type} = %s AND {t.eid} > %s ORDER BY {t.eid}"
    newest = f"SELECT {t.eid}, {t.type}, {t.data} {where} DESC LIMIT 1"
    rows = union(connection, [(newest, [channel, name, last_id]) for name in whole])
    if logs:
        # the newest max_in_full events of the logs together are those from `floor` on
        recent = f"SELECT {t.eid} {where} DESC LIMIT {int(max_in_full)}"
        eids = sorted((row[0] for row in union(connection, [(recent, [channel, n, -1]) for n in logs])), reverse=True)
        floor = eids[max_in_full - 1] if len(eids) >= max_in_full else 0
        oldest_first = f"SELECT {t.eid}, {t.type}, {t.data} {where} LIMIT {int(max_in_full)}"
        rows += union(connection, [(oldest_first, [channel, name, max(last_id, floor - 1)]) for name in logs])
    rows.sort()
    return [(int(eid), str(kind), str(data)) for eid, kind, data in rows[:limit]]


def stored_names(connection: Any, channel: str) -> dict[str, bool]:
    """Every event name stored on `channel` -> whether it is whole state (False when undeclared).

    A skip scan: one probe of the (channel, type, eid) index per name, found
    in order, without reading the events between.
    """
    from dashboards_live.models import EventKind

    t = Columns(connection)
    q = connection.ops.quote_name
    kinds = q(EventKind._meta.db_table)
    after = f"SELECT {t.type} FROM {t.table} WHERE {t.channel} = %s AND {t.type} > {{}} ORDER BY {t.type} LIMIT 1"
    first, following = after.format("''"), after.format("names.name")
    sql = (
        f"WITH RECURSIVE names(name) AS (SELECT ({first}) UNION ALL "
        f"SELECT ({following}) FROM names WHERE names.name IS NOT NULL) "
        f"SELECT names.name, k.{q('whole_state')} FROM names LEFT JOIN {kinds} k "
        f"ON k.{q('channel')} = %s AND k.{q('name')} = names.name WHERE names.name IS NOT NULL"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [channel, channel, channel])
        return {str(name): bool(whole) for name, whole in cursor.fetchall()}


class Columns:
    """django-eventstream's event table and columns, quoted for `connection`."""

    def __init__(self, connection: Any) -> None:
        from django_eventstream.models import Event as Stored

        q = connection.ops.quote_name
        self.table = q(Stored._meta.db_table)
        self.channel, self.type, self.eid, self.data = (
            q(Stored._meta.get_field(name).column) for name in ("channel", "type", "eid", "data")
        )


def union(connection: Any, probes: list[tuple[str, list[Any]]]) -> list[tuple[Any, ...]]:
    """The rows of every probe, in a statement per TERMS_PER_STATEMENT of them."""
    rows: list[tuple[Any, ...]] = []
    for start in range(0, len(probes), TERMS_PER_STATEMENT):
        chunk = probes[start : start + TERMS_PER_STATEMENT]
        sql = " UNION ALL ".join(f"SELECT * FROM ({select}) AS p{i}" for i, (select, _) in enumerate(chunk))
        with connection.cursor() as cursor:
            cursor.execute(sql, [value for _, params in chunk for value in params])
            rows += cursor.fetchall()
    return rows
