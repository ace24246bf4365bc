"""Checks for live django-dashboards: who may read the page must be who may read the stream.

A live dashboard's page is guarded by django-dashboards' `permission_classes`
and its stream and fragments by its channel's rule. If the channel lets in
someone the page would not (a staff-only page on a public channel), the stream
leaks what the page hides: an error. If it is the other way round, the page
refuses those the channel refuses, which is likely not meant: a warning.
"""

from __future__ import annotations

from typing import Any

from django.core.checks import CheckMessage, Error, Warning, register

from dashboards_live.web.channels import AUTHENTICATED, PUBLIC, STAFF, ChannelRules

# the rule each of django-dashboards' own permission classes amounts to
KNOWN = {
    "dashboards.permissions.AllowAny": PUBLIC,
    "dashboards.permissions.IsAuthenticated": AUTHENTICATED,
    "dashboards.permissions.IsAdminUser": STAFF,
}
STRICTNESS = {PUBLIC: 0, AUTHENTICATED: 1, STAFF: 2}


def page_rule(permissions: list[Any]) -> str | None:
    """The channel rule that admits whom `permissions` admit (all must pass), or None if one is not known."""
    rules = []
    for permission in permissions:
        cls = type(permission)
        rule = KNOWN.get(f"{cls.__module__}.{cls.__qualname__}")
        if rule is None:
            return None
        rules.append(rule)
    return max(rules, key=STRICTNESS.__getitem__, default=PUBLIC)


def admits_no_more(rule: str, than: str) -> bool:
    """Whether everyone `rule` lets read is someone `than` lets read too (the rules' order)."""
    if than == PUBLIC or rule == than:
        return True
    if than == AUTHENTICATED:
        return rule != PUBLIC
    return False  # a staff page: only a staff channel admits no more (a group may hold non-staff)


@register()
def check_live_dashboards(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    from dashboards_live.contrib.django_dashboards.components import declared
    from dashboards_live.contrib.django_dashboards.dashboard import Counterpart
    from dashboards_live.declaring.dashboards import autodiscover

    messages: list[CheckMessage] = []
    rules = ChannelRules.from_settings()
    for live in autodiscover().all():
        if not issubclass(live, Counterpart):
            continue
        where = f"{live.__module__}.{live.__qualname__}"
        channel_rule = rules.rule_for(live.channel)
        if channel_rule is None:
            continue  # dashboards_live.E026 says so
        page = page_rule(live.source.get_dashboard_permissions())
        if page is None:
            messages.append(
                Warning(
                    f"permission_classes are not all django-dashboards' own, so whether channel {live.channel!r} "
                    f"(rule: {channel_rule}) admits no more than the page cannot be told.",
                    hint="Make sure the channel's rule in DASHBOARDS_CHANNELS is at least as strict as the page.",
                    obj=where,
                    id="dashboards_live.django_dashboards.W001",
                )
            )
        elif not admits_no_more(channel_rule, page):
            messages.append(
                Error(
                    f"the page admits {page} users but channel {live.channel!r} is {channel_rule}: "
                    "its stream and fragments would show what the page hides.",
                    hint=f'Set DASHBOARDS_CHANNELS["{live.channel}"] = "{page}", or loosen permission_classes.',
                    obj=where,
                    id="dashboards_live.django_dashboards.E001",
                )
            )
        elif not admits_no_more(page, channel_rule):
            messages.append(
                Warning(
                    f"the page admits {page} users but channel {live.channel!r} is {channel_rule}: "
                    "the page refuses whom the channel refuses.",
                    hint="Make permission_classes and the channel's rule say the same.",
                    obj=where,
                    id="dashboards_live.django_dashboards.W002",
                )
            )
    for component in declared:
        if component.dashboard is None:
            messages.append(
                Error(
                    f"{component!r} is declared on a class that is not a LiveDashboard, so it has no channel.",
                    hint="Subclass dashboards_live.contrib.django_dashboards.LiveDashboard instead of Dashboard.",
                    obj=component.attribute,
                    id="dashboards_live.django_dashboards.E002",
                )
            )
    return messages
