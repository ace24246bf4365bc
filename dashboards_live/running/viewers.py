"""Who is watching, kept where every web worker reads it: the Viewers table.

The stats reader (`runpushpinstats`) replaces the rows with each snapshot; the
pages read them. Rows expire, so when the reader or Pushpin stops, the pages
show no count rather than an old one.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from django.db import DatabaseError, transaction
from django.utils import timezone

from dashboards_live.errors import PublishError
from dashboards_live.models import Viewers

# the row that stands for Pushpin as a whole (no channel is named "")
ALL = ""


def check() -> None:
    """PublishError (exit 1) if the table cannot be read: a reader should not start to fail at every store."""
    try:
        Viewers.objects.exists()
    except DatabaseError as exc:
        message = " ".join(str(exc).split())
        raise PublishError(f"cannot read the viewer counts' table ({message}): run manage.py migrate") from None


def store(counts: Mapping[str, int], connections: int, expires: datetime) -> None:
    """Replace what is stored with this snapshot: open streams per channel, and Pushpin's connections."""
    rows = [Viewers(channel=ALL, subscribers=connections, expires=expires)]
    rows += [Viewers(channel=channel, subscribers=count, expires=expires) for channel, count in counts.items()]
    with transaction.atomic():
        Viewers.objects.all().delete()
        Viewers.objects.bulk_create(rows)


def clear() -> None:
    """Forget every count (the reader stops: nothing it said stays current)."""
    Viewers.objects.all().delete()


def watching(now: datetime | None = None) -> dict[str, int] | None:
    """Open streams per channel (a channel nobody watches: absent); None when no count is current."""
    rows = dict(Viewers.objects.filter(expires__gt=now or timezone.now()).values_list("channel", "subscribers"))
    if ALL not in rows:
        return None
    del rows[ALL]
    return rows


def watching_channel(channel: str, now: datetime | None = None) -> int | None:
    """Open streams on `channel` (0: nobody), or None when no count is current."""
    counts = watching(now)
    return None if counts is None else counts.get(channel, 0)
