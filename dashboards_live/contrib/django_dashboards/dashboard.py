"""A django-dashboards Dashboard whose live components share one stream, guarded by its channel's rule.

    class ShopDashboard(LiveDashboard):
        channel = "shop"                 # default: the class name in lower case
        orders = SSEStat()
        revenue = SSEChart()
        visitors = Stat(value=...)      # ordinary components sit beside them

Declaring the class also declares its live counterpart in dashboards_live's
registry (a dashboards_live Dashboard named like the class, on `channel`,
holding the live components), so `ShopDashboard.orders` has its key and
channel at once: `push(ShopDashboard.orders, 12)`, `@feed(...)`, `sendevent
--render shopdashboard.orders 12` and `manage.py check` work before any page
is viewed.

The page is django-dashboards' own, served by its own view, with the stream
added around the dashboard: one stream per page from the app's events URL,
each live component rendered from its last stored event, the connection
indicator, and the poll_rate fallback (dashboards_live's own templates,
included). The channel's rule guards the page as it guards the stream and
the fragments; `check` compares it with the dashboard's `permission_classes`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar

from dashboards.dashboard import Dashboard as BaseDashboard
from dashboards.views import DashboardView
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.template.loader import render_to_string
from django.urls import URLPattern, path
from django.utils.safestring import SafeString, mark_safe

from dashboards_live.contrib.django_dashboards.components import LiveComponent
from dashboards_live.declaring.components import Component
from dashboards_live.declaring.dashboards import Dashboard
from dashboards_live.web import pages
from dashboards_live.web.channels import refusal


class Counterpart(Dashboard, register=False):
    """A LiveDashboard as dashboards_live sees it: a name, a channel and the live components."""

    source: ClassVar[Any] = None


class LiveDashboard(BaseDashboard):  # type: ignore[misc]
    """Subclass it instead of django-dashboards' Dashboard; name the channel its streams use."""

    channel: ClassVar[str] = ""
    live: ClassVar[type[Counterpart] | None] = None

    class Meta:
        abstract = True

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        cls.live = None if cls._meta.abstract else counterpart(cls)

    @classmethod
    def get_urls(cls) -> list[URLPattern]:
        return [
            path(
                f"{cls._meta.app_label}/{cls.class_name()}/",
                LiveDashboardView.as_view(dashboard_class=cls),
                name=cls.get_slug(),
            )
        ]

    def render(self, request: HttpRequest, template_name: str | None = None) -> SafeString:
        live = type(self).live
        if live is None:
            html: str = super().render(request, template_name)
            return mark_safe(html)
        self._live_region = pages.live_region(live, live.channel)
        inner: str = super().render(request, template_name)
        return mark_safe(
            render_to_string(
                "dashboards_live/django_dashboards/region.html",
                pages.context(self._live_region, inner=mark_safe(inner)),
                request=request,
            )
        )

    def get_context(self, **kwargs: Any) -> dict[str, Any]:
        context: dict[str, Any] = super().get_context(**kwargs)
        region = getattr(self, "_live_region", None)
        if region is not None:
            context["live_slots"] = dict(zip([c.key for c in region.dashboard.components], region.slots, strict=True))
        return context


def counterpart(source: type[LiveDashboard]) -> type[Counterpart]:
    """The dashboards_live Dashboard declared for `source` (registered, so checks and commands find it)."""
    name = source.class_name()
    attributes: dict[str, Any] = {
        "__module__": source.__module__,
        "__qualname__": source.__qualname__,
        "name": name,
        "title": str(source._meta.verbose_name),
        "channel": source.channel or name,
        "source": source,
        # django-dashboards builds a component's URLs from its dashboard's
        "_meta": source._meta,
        "class_name": staticmethod(source.class_name),
    }
    attributes.update({k: v for k, v in vars(source).items() if isinstance(v, LiveComponent)})
    return type(source.__name__, (Counterpart,), attributes)


def slots_for(live: type[Dashboard], components: Sequence[Component]) -> dict[str, SafeString]:
    """The slots of some components, each rendered from its last stored event."""
    region = pages.live_region(live, live.channel, components)
    return dict(zip([c.key for c in components], region.slots, strict=True))


class LiveDashboardView(DashboardView):  # type: ignore[misc]
    """django-dashboards' page, loading the htmx the app's pages load (not its own 1.8) and our stream."""

    template_name = "dashboards_live/django_dashboards/dashboard.html"

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        live = self.dashboard_class.live
        reason = None if live is None else refusal(request.user, live.channel)
        if reason is not None:
            if not request.user.is_authenticated:
                return redirect_to_login(request.get_full_path())
            raise PermissionDenied(reason)
        response: HttpResponse = super().dispatch(request, *args, **kwargs)
        return response
