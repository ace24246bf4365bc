"""The app's own tables: a component's state, stored beside its fragment; who is watching.

A Chart's next value extends its window, so whoever publishes next (another
host, push() after a restart) needs the window as data. It is stored here,
keyed by the event it was rendered into, in the transaction that stores the
event; the fragment browsers receive carries none of it.
"""

from __future__ import annotations

from django.db import models


class ComponentState(models.Model):
    channel = models.CharField(max_length=64)
    key = models.CharField(max_length=64)
    # the stored event (django-eventstream's eid on `channel`) rendered from this state
    eid = models.BigIntegerField()
    state = models.TextField()
    created = models.DateTimeField()

    class Meta:
        indexes = [models.Index(fields=["channel", "key", "eid"], name="dashboards_live_state_last")]

    def __str__(self) -> str:
        return f"{self.channel}/{self.key}@{self.eid}"


class EventKind(models.Model):
    """How a stored event name replays on its channel, as its publisher declared it.

    Whole state (every component's events): a reconnect gets only the newest
    event of the name. Otherwise (a log): every event, the newest
    DASHBOARDS_REPLAY_MAX_EVENTS at most. Names no publisher declared (raw
    send_event names) have no row and replay as a log.
    """

    channel = models.CharField(max_length=64)
    name = models.CharField(max_length=64)
    whole_state = models.BooleanField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["channel", "name"], name="dashboards_live_kind_unique")]

    def __str__(self) -> str:
        return f"{self.channel}/{self.name}: {'whole state' if self.whole_state else 'log'}"


class Viewers(models.Model):
    """Open streams per channel, as Pushpin's statistics said (written by `runpushpinstats`).

    The row whose channel is "" stands for Pushpin as a whole: its count is the
    open connections, and its presence says the statistics are known at all.
    Rows are good until `expires`: a stopped reader leaves nothing that looks current.
    """

    channel = models.CharField(max_length=64, primary_key=True)
    subscribers = models.PositiveIntegerField()
    expires = models.DateTimeField()

    def __str__(self) -> str:
        return f"{self.channel or '(all)'}: {self.subscribers}"
