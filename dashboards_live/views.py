from __future__ import annotations

from django.conf import settings
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseForbidden
from django.shortcuts import render
from django_eventstream.views import events as eventstream_events
from gripcontrol import Channel

from dashboards_live.channels import ChannelRules, access_channels, refusal
from dashboards_live.contract import is_channel
from dashboards_live.dashboards import DEMO, last_fragments


def demo_dashboard(request: HttpRequest, channel: str = DEMO.channel) -> HttpResponse:
    if not is_channel(channel):
        raise Http404("no such channel")
    if not ChannelRules.from_settings().can_read(request.user, channel):
        if not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path())
        raise PermissionDenied(refusal(request.user, channel))
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
    if not is_channel(channel):
        raise Http404("no such channel")
    grip = getattr(request, "grip", None)
    if not (grip and grip.proxied and grip.signed) and not settings.DASHBOARDS_ALLOW_DIRECT_STREAMING:
        # without this, django-eventstream would stream from this worker itself
        return HttpResponseForbidden(
            "Event streams are served through Pushpin only: this request has no valid Grip-Sig.\n",
            content_type="text/plain",
        )
    if "es-meta" not in request.GET:
        # A plain 403 ends an EventSource for good; django-eventstream's own
        # refusal is a 200 stream carrying one stream-error event. Pushpin's
        # follow-up requests (es-meta, signed by us) are checked by
        # django-eventstream against the user they carry.
        reason = refusal(request.user, channel)
        if reason is not None:
            return HttpResponseForbidden(reason + "\n", content_type="text/plain")
    response: HttpResponse = eventstream_events(request, channel=channel)
    instruct = grip.instruct if grip else None
    rule = ChannelRules.from_settings().rule_for(channel)
    if instruct is not None and rule is not None:
        for name in access_channels(rule):
            instruct.add_channel(Channel(name))
    return response
