"""Who may read which channel: the rules, and django-eventstream's channel manager.

`settings.DASHBOARDS_CHANNELS` maps channel names or fnmatch patterns to a rule:

    {"demo": "public", "ops.*": "staff", "sales": "group:sales", "team-*": "authenticated"}

An exact name wins over patterns; among patterns the first that matches, in the
order written, wins. A channel that nothing matches is refused, except the demo
channel, which is public unless the setting says otherwise. Superusers pass
every rule; inactive users are anonymous.

Streams of a non-public channel are also subscribed to Pushpin channels that
name the rule that let them in (`access_channels`); revocation ends a user's
streams that hang on a rule the user no longer meets (see revocation.py).
"""

from __future__ import annotations

import fnmatch
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from django.http import HttpRequest
from django_eventstream.channelmanager import DefaultChannelManager

from dashboards_live import conf
from dashboards_live.contract import is_channel
from dashboards_live.errors import ConfigError

DEMO_CHANNEL = "demo"
PUBLIC, AUTHENTICATED, STAFF, GROUP = "public", "authenticated", "staff", "group:"


class InvalidRule(ValueError):
    """A DASHBOARDS_CHANNELS entry that is not one of the known rules."""


def validate_rule(rule: object) -> str:
    if isinstance(rule, str) and (
        rule in (PUBLIC, AUTHENTICATED, STAFF) or (rule.startswith(GROUP) and rule[len(GROUP) :].strip())
    ):
        return rule
    raise InvalidRule(f"unknown channel rule {rule!r}: use public, authenticated, staff or group:<name>")


def user_meets(user: Any, rule: str) -> bool:
    """Whether `user` (None or AnonymousUser for anonymous) may read under `rule`."""
    if rule == PUBLIC:
        return True
    if user is None or not getattr(user, "is_authenticated", False) or not user.is_active:
        return False
    if user.is_superuser or rule == AUTHENTICATED:
        return True
    if rule == STAFF:
        return bool(user.is_staff)
    if isinstance(rule, str) and rule.startswith(GROUP):
        return bool(user.groups.filter(name=rule[len(GROUP) :]).exists())
    return False  # an invalid rule lets nobody in (`check` reports it)


def access_channels(rule: str) -> list[str]:
    """The Pushpin channels a stream admitted under `rule` is marked with."""
    if rule == PUBLIC:
        return []
    marks = ["access-" + AUTHENTICATED]
    if rule != AUTHENTICATED:
        marks.append("access-" + quote(rule, safe=""))
    return marks


@dataclass(frozen=True)
class ChannelRules:
    rules: Mapping[str, str]

    @classmethod
    def from_settings(cls) -> ChannelRules:
        return cls(dict(conf.setting("DASHBOARDS_CHANNELS")))

    @classmethod
    def checked(cls) -> ChannelRules:
        """The rules in the settings, every one valid, or a ConfigError naming DASHBOARDS_CHANNELS."""
        raw = conf.setting("DASHBOARDS_CHANNELS")
        if not isinstance(raw, Mapping):
            raise ConfigError("DASHBOARDS_CHANNELS", "must map channel names or patterns to rules")
        for pattern, rule in raw.items():
            try:
                validate_rule(rule)
            except InvalidRule as exc:
                raise ConfigError("DASHBOARDS_CHANNELS", f"{pattern!r}: {exc}") from None
        return cls(dict(raw))

    def rule_for(self, channel: str) -> str | None:
        """The rule that governs `channel`, or None when nobody may read it."""
        if not is_channel(channel):
            return None
        if channel in self.rules:
            return self.rules[channel]
        for pattern, rule in self.rules.items():
            if fnmatch.fnmatchcase(channel, pattern):
                return rule
        return PUBLIC if channel == DEMO_CHANNEL else None

    def can_read(self, user: Any, channel: str) -> bool:
        rule = self.rule_for(channel)
        return rule is not None and user_meets(user, rule)


ANONYMOUS_REFUSAL = "Channel {channel!r} needs a login."


def refusal(user: Any, channel: str) -> str | None:
    """Why `user` may not read `channel` (one line), or None when they may."""
    rules = ChannelRules.from_settings()
    rule = rules.rule_for(channel)
    if rule is not None and user_meets(user, rule):
        return None
    if user is None or not user.is_authenticated:
        # the same words whether the channel exists or not: a visitor cannot map the private ones
        return ANONYMOUS_REFUSAL.format(channel=channel)
    if rule is None:
        return f"Channel {channel!r} is not readable: it is not listed in DASHBOARDS_CHANNELS."
    return f"Channel {channel!r} is not readable by this account (rule: {rule})."


class ChannelManager(DefaultChannelManager):  # type: ignore[misc]
    def get_channels_for_request(self, request: HttpRequest, view_kwargs: dict[str, Any]) -> set[str]:
        # only the channel in the URL: never channels named in the query string
        channel = view_kwargs.get("channel")
        if not isinstance(channel, str) or not is_channel(channel):
            return set()
        return {channel}

    def can_read_channel(self, user: Any, channel: str) -> bool:
        return ChannelRules.from_settings().can_read(user, channel)

    def is_channel_reliable(self, channel: str) -> bool:
        return True
