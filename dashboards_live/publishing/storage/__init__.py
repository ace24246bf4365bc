"""Storage: django-eventstream's tables (ids, withdraw, retention, the last event per component).

One module per job: `store` (the Store the delivery engine uses, EventStore),
`append` (a batch in a few queries), `locks` (one publisher of a channel at a
time), `retention` (trims), `sqlite` (WAL checkpoints), `background` (whether
that housekeeping runs on threads), `reads` (late-join pages), `replay` (a
reconnect's compacted replay), `eventstream` (the Storage class
django-eventstream's settings name); states beside fragments and how each
event name replays go to the app's own tables (dashboards_live.models). Mutable state lives in
its own module (`retention._next_trim`, `background.BACKGROUND`): patch it there.
"""

from __future__ import annotations

from dashboards_live.publishing.storage.append import append_events
from dashboards_live.publishing.storage.eventstream import Storage, storage_for
from dashboards_live.publishing.storage.locks import lock_key
from dashboards_live.publishing.storage.reads import Last, last_events, last_states
from dashboards_live.publishing.storage.retention import maybe_trim, trim
from dashboards_live.publishing.storage.store import EventStore, Store, check_database, one_line

__all__ = [
    "EventStore",
    "Last",
    "Storage",
    "Store",
    "append_events",
    "check_database",
    "last_events",
    "last_states",
    "lock_key",
    "maybe_trim",
    "one_line",
    "storage_for",
    "trim",
]
