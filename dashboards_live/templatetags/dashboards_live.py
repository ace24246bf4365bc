"""Live dashboards and components in any template of a project.

    {% load dashboards_live %}
    <head>... {% live_head %} ...</head>
    {% live_dashboard "ops" %}                  a whole dashboard, with its indicator
    {% live_component "ops.queue" "ops.rate" %}  some components of one dashboard
    {% live_dashboard "demo" channel="demo2" %}  a dashboard on another channel

Each tag is one stream: rendered from the last stored events, wired to the
app's events URL, with its connection indicator and the poll_rate fallback.
A visitor the channel's rule does not let read sees nothing of it.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from typing import Any

from django import template
from django.contrib.auth.models import AnonymousUser
from django.template.loader import render_to_string
from django.utils.safestring import SafeString, mark_safe

from dashboards_live.declaring.components import Component
from dashboards_live.declaring.dashboards import Dashboard, UnknownComponent, autodiscover, find_component
from dashboards_live.web import pages
from dashboards_live.web.channels import ChannelRules

register = template.Library()
_numbers = itertools.count(1)


@register.inclusion_tag("dashboards_live/head.html")
def live_head(htmx: bool = True) -> dict[str, Any]:
    """htmx with its SSE extension (as django-htmx ships it), the stylesheet and the indicator's script.

    `htmx=False` for a page that loads htmx and its SSE extension itself.
    """
    return {"htmx": htmx, "htmx_version": pages.htmx_line()}


@register.simple_tag(takes_context=True)
def live_dashboard(context: template.Context, name: str, channel: str | None = None) -> SafeString:
    dashboard = autodiscover().get(name)
    if dashboard is None:
        raise template.TemplateSyntaxError(f"live_dashboard: no dashboard named {name!r} is declared")
    return _region(context, dashboard, channel or dashboard.channel, None, "dashboards_live/live_dashboard.html")


@register.simple_tag(takes_context=True)
def live_component(context: template.Context, *references: str | Component, channel: str | None = None) -> SafeString:
    if not references:
        raise template.TemplateSyntaxError('live_component needs a component: {% live_component "ops.queue" %}')
    components = []
    for reference in references:
        try:
            component = find_component(reference) if isinstance(reference, str) else reference
        except UnknownComponent as exc:
            raise template.TemplateSyntaxError(f"live_component: {exc}") from None
        components.append(component)
    owners = {c.dashboard for c in components}
    if len(owners) != 1 or None in owners:
        raise template.TemplateSyntaxError(
            "live_component: the components of one tag share one stream, so they come from one dashboard; "
            "use one tag per dashboard"
        )
    dashboard: type[Dashboard] = owners.pop()
    return _region(context, dashboard, channel or dashboard.channel, components, "dashboards_live/live_component.html")


def _region(
    context: template.Context,
    dashboard: type[Dashboard],
    channel: str,
    components: list[Component] | None,
    template_name: str,
) -> SafeString:
    request = context.get("request")
    user = getattr(request, "user", None) or AnonymousUser()
    if not ChannelRules.from_settings().can_read(user, channel):
        return mark_safe("")
    region = pages.live_region(dashboard, channel, components, indicator_id=f"stream-state-{_number(request)}")
    return mark_safe(render_to_string(template_name, pages.context(region), request=request))


def _number(request: Any) -> int:
    """1, 2, ... for the regions of one response, so their indicator ids differ."""
    if request is None:
        return next(_numbers)
    counter: Iterator[int] | None = getattr(request, "_dashboards_live_regions", None)
    if counter is None:
        counter = itertools.count(1)
        request._dashboards_live_regions = counter
    return next(counter)
