from __future__ import annotations

from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseForbidden
from django.shortcuts import render
from django_eventstream.views import events as eventstream_events

from dashboards_live.dashboards import DEMO, last_fragments
from dashboards_live.publishing import CHANNEL_RE


def demo_dashboard(request: HttpRequest, channel: str = DEMO.channel) -> HttpResponse:
    if not CHANNEL_RE.fullmatch(channel):
        raise Http404("no such channel")
    dashboard = DEMO.on(channel)
    fragments = last_fragments(channel, [c.key for c in dashboard.components])
    return render(
        request,
        "dashboards/dashboard.html",
        {
            "dashboard": dashboard,
            "channel": channel,
            "events_url": f"{settings.DASHBOARDS_EVENTS_URL}{channel}/",
            "slots": [c.render_slot(fragments.get(c.key)) for c in dashboard.components],
        },
    )


def events(request: HttpRequest, channel: str) -> HttpResponse:
    if not CHANNEL_RE.fullmatch(channel):
        raise Http404("no such channel")
    grip = getattr(request, "grip", None)
    if not (grip and grip.proxied and grip.signed) and not settings.DASHBOARDS_ALLOW_DIRECT_STREAMING:
        # without this, django-eventstream would stream from this worker itself
        return HttpResponseForbidden(
            "Event streams are served through Pushpin only: this request has no valid Grip-Sig.\n",
            content_type="text/plain",
        )
    response: HttpResponse = eventstream_events(request, channel=channel)
    return response
