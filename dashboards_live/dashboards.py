"""A dashboard is a named set of SSE components listening on one channel."""

from __future__ import annotations

import json
from dataclasses import dataclass, replace

from dashboards_live.components import SSEChart, SSEStat


@dataclass(frozen=True)
class Dashboard:
    name: str
    title: str
    channel: str
    components: tuple[SSEStat | SSEChart, ...]

    def on(self, channel: str) -> Dashboard:
        return replace(self, channel=channel)


DEMO = Dashboard(
    name="demo",
    title="Demo dashboard",
    channel="demo",
    components=(
        SSEStat("sse_stat", title="CPU load"),
        SSEChart("sse_chart", title="Requests per second", window=60),
    ),
)


def last_fragments(channel: str, keys: list[str]) -> dict[str, str]:
    """The data of the last stored event for each key, so late joiners see current values."""
    from django_eventstream.models import Event

    out = {}
    for key in keys:
        data = Event.objects.filter(channel=channel, type=key).order_by("-eid").values_list("data", flat=True).first()
        if data is not None:
            out[key] = json.loads(data)
    return out
