"""Late-join reads: the last stored event of each component, so a page opened late shows current values."""

from __future__ import annotations

import datetime
import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from dashboards_live.publishing.storage.eventstream import storage_for


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
    rows = _newest_per_key(connection, Row._meta.db_table, "type", ("type", "data", "created"), channel, keys)
    created_field = Row._meta.get_field("created")
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


def last_states(channel: str, keys: Sequence[str]) -> dict[str, str]:
    """The newest stored state (JSON) of each of `keys` on `channel`, for components that build on it."""
    from django.db import connections, router

    from dashboards_live.models import ComponentState

    keys = list(dict.fromkeys(keys))
    if not keys:
        return {}
    connection = connections[router.db_for_read(ComponentState)]
    rows = _newest_per_key(connection, ComponentState._meta.db_table, "key", ("key", "state"), channel, keys)
    return {key: state for key, state in rows}


def _newest_per_key(
    connection: Any, table: str, key: str, columns: Sequence[str], channel: str, keys: Sequence[str]
) -> list[tuple[Any, ...]]:
    """`columns` of the row with the highest eid for each of `keys` on `channel`: one statement, one
    index probe per key (indexes on (channel, key, eid)), whatever the number of rows stored."""
    quote = connection.ops.quote_name
    selected = ", ".join(quote(c) for c in columns)
    one = (
        f"SELECT * FROM (SELECT {selected} FROM {quote(table)} WHERE {quote('channel')} = %s "
        f"AND {quote(key)} = %s ORDER BY {quote('eid')} DESC LIMIT 1) AS k{{i}}"
    )
    sql = " UNION ALL ".join(one.format(i=i) for i in range(len(keys)))
    with connection.cursor() as cursor:
        cursor.execute(sql, [value for k in keys for value in (channel, k)])
        return list(cursor.fetchall())
