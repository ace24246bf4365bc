"""django-eventstream's side: the Storage class its settings name, and which channels it stores."""

from __future__ import annotations

from typing import Any

from django_eventstream.storage import DjangoModelStorage


class Storage(DjangoModelStorage):  # type: ignore[misc]
    """DjangoModelStorage with the per-connect query made cheap.

    Every SSE connect asks for the channel's current event id (so Pushpin can
    tell whether a subscriber missed anything). The ORM spends most of that
    request's database time building the query; one indexed lookup by name in
    plain SQL gives the same answer at a fraction of the cost. Appends go
    through append.append_events, which recognises this class as the model storage.
    A client's resume is compacted (replay.py); Pushpin's recovery of a gap is not.
    """

    def get_events(self, channel: str, last_id: int, limit: int = 100) -> list[Any]:
        """What a client at `last_id` missed, compacted; EventDoesNotExist (a stream-reset) for an id not stored."""
        import json

        from django.db import connections, router
        from django_eventstream.event import Event
        from django_eventstream.models import Event as Stored
        from django_eventstream.storage import EventDoesNotExist

        from dashboards_live.conf import replay_max_events
        from dashboards_live.publishing.storage.replay import is_compacting, replay

        if not is_compacting():
            full: list[Any] = super().get_events(channel, last_id, limit)
            return full
        current = self.get_current_id(channel)
        if last_id == current:
            return []
        connection = connections[router.db_for_read(Stored)]
        q = connection.ops.quote_name
        with connection.cursor() as cursor:
            # as django-eventstream: an id it no longer has (trimmed, or never given) resets the client
            cursor.execute(
                f"SELECT 1 FROM {q(Stored._meta.db_table)} WHERE {q('channel')} = %s AND {q('eid')} = %s",
                [channel, last_id],
            )
            if cursor.fetchone() is None:
                raise EventDoesNotExist(f"No such event {last_id}", current)
        rows = replay(channel, last_id, limit, replay_max_events())
        return [Event(channel, kind, json.loads(data), id=eid) for eid, kind, data in rows]

    def get_current_id(self, channel: str) -> int:
        from django.db import connections, router
        from django_eventstream.models import EventCounter

        connection = connections[router.db_for_read(EventCounter)]
        table = connection.ops.quote_name(EventCounter._meta.db_table)
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT value FROM {table} WHERE name = %s", [channel])
            row = cursor.fetchone()
        return int(row[0]) if row else 0


def storage_for(channel: str) -> Any:
    """django-eventstream's storage if this channel's events are stored, else None."""
    from django_eventstream.utils import get_channelmanager, get_storage

    storage = get_storage()
    if storage is not None and get_channelmanager().is_channel_reliable(channel):
        return storage
    return None
