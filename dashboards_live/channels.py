"""Who may read which channel: django-eventstream's channel manager for our URLs."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from django_eventstream.channelmanager import DefaultChannelManager

from dashboards_live.publishing import CHANNEL_RE


class ChannelManager(DefaultChannelManager):  # type: ignore[misc]
    def get_channels_for_request(self, request: HttpRequest, view_kwargs: dict[str, Any]) -> set[str]:
        # only the channel in the URL: never channels named in the query string
        channel = view_kwargs.get("channel")
        if channel is None or not CHANNEL_RE.fullmatch(channel):
            return set()
        return {channel}

    def can_read_channel(self, user: Any, channel: str) -> bool:
        return CHANNEL_RE.fullmatch(channel) is not None

    def is_channel_reliable(self, channel: str) -> bool:
        return True
