"""What a live region of a page shows: a dashboard's (or some components') current state and its stream.

The dashboard pages and the template tags both render through live_region(),
so an embedded component is wired exactly as the app's own pages are: its
slot rendered from the last stored event, the stream URL reversed from where
the app is mounted, the poll fallback URL for components with poll_rate.
"""

from __future__ import annotations

import inspect
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from urllib.parse import urlencode

from django.urls import reverse
from django.utils import timezone
from django.utils.safestring import SafeString

from dashboards_live import conf
from dashboards_live.declaring import feeds
from dashboards_live.declaring.components import Component
from dashboards_live.declaring.dashboards import Dashboard
from dashboards_live.publishing.encoding import browser_event_id
from dashboards_live.publishing.storage import Last, last_events, storage_for

# the app's own page has one stream, and its indicator this id
PAGE_INDICATOR = "stream-state"


def htmx_line() -> int:
    """The htmx line the pages load: DASHBOARDS_HTMX, else the default of django-htmx's htmx_script."""
    line = conf.htmx_line()
    if line is not None:
        return line
    from django_htmx.jinja import htmx_script

    return int(inspect.signature(htmx_script).parameters["version"].default)


def overdue_after(component: Component) -> float | None:
    """Seconds without a value after which the page marks `component` stale (None: never).

    Its stale_after= if declared, else its feed's every= and half as much again
    (at least half a second more), so a tick a little late marks nothing.
    """
    if component.stale_after is not None:
        return component.stale_after
    every = [f.interval for f in feeds.autodiscover().all() if f.component is component]
    return max(every) + max(max(every) / 2, 0.5) if every else None


@dataclass(frozen=True)
class SlotBlock:
    heading: str
    slots: list[SafeString]


@dataclass(frozen=True)
class LiveRegion:
    """One stream and the component slots it feeds, as the templates render them."""

    dashboard: type[Dashboard]
    channel: str
    events_url: str
    indicator_id: str
    updated: datetime | None
    blocks: list[SlotBlock] = field(default_factory=list)
    htmx: int = field(default_factory=htmx_line)

    @property
    def slots(self) -> list[SafeString]:
        return [slot for block in self.blocks for slot in block.slots]


def events_url(channel: str, after: int = 0) -> str:
    """The stream of `channel`, starting after stored event `after` (0: nothing stored yet).

    A page renders from the stored events, then opens its stream: starting the
    stream after the newest id the page could have rendered replays whatever
    was published in between, so no value is lost between page and stream.
    That holds for a channel with nothing stored too: its first event stores
    the placeholder id 0 that the replay starts from.
    """
    url = reverse("dashboards_live:events", args=[channel])
    return url + "?" + urlencode({"lastEventId": browser_event_id(channel, after)})


def current_id(channel: str) -> int:
    """The newest stored event id of `channel` (0: none stored)."""
    storage = storage_for(channel)
    return int(storage.get_current_id(channel)) if storage is not None else 0


def live_region(
    dashboard: type[Dashboard],
    channel: str,
    components: Sequence[Component] | None = None,
    *,
    indicator_id: str = PAGE_INDICATOR,
) -> LiveRegion:
    """The region for `components` of `dashboard` on `channel` (all of them, in their sections, by default)."""
    wanted = None if components is None else {c.key for c in components}
    blocks = [
        (block.heading, [c for c in block.components if wanted is None or c.key in wanted])
        for block in dashboard.blocks()
    ]
    shown = [c for _, members in blocks for c in members]
    # read before the events: what is published after it replays on the stream
    after = current_id(channel)
    last = last_events(channel, [c.key for c in shown])
    return LiveRegion(
        dashboard=dashboard,
        channel=channel,
        events_url=events_url(channel, after),
        indicator_id=indicator_id,
        updated=max((e.created for e in last.values()), default=None),
        blocks=[
            SlotBlock(heading, [_slot(c, channel, last) for c in members]) for heading, members in blocks if members
        ],
    )


def _slot(component: Component, channel: str, last: dict[str, Last]) -> SafeString:
    stored = last.get(component.key)
    poll_url = reverse("dashboards_live:fragment", args=[channel, component.key]) if component.poll_rate else None
    age = (timezone.now() - stored.created).total_seconds() if stored is not None else None
    return component.render_slot(
        stored.data if stored is not None else None, poll_url=poll_url, stale_after=overdue_after(component), age=age
    )


def context(region: LiveRegion, **extra: Any) -> dict[str, Any]:
    return {"live": region, "dashboard": region.dashboard, "channel": region.channel, **extra}
