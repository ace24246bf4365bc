"""Stand-ins for unit tests only (never in a test that claims the whole path)."""

from __future__ import annotations

from collections.abc import Sequence

from dashboards_live.publishing import Event, Published


class Sink:
    """A publisher that takes everything and sends nothing."""

    timeout = 1.0

    def store_events(self, events: Sequence[Event]) -> list[Published]:
        return [Published(e, None) for e in events]

    def deliver(self, published: Sequence[Published], *, timeout: float | None = None) -> None:
        pass
