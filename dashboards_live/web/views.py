"""The pages (dashboard index, one dashboard), the poll fallback's fragments, and the events endpoint Pushpin holds."""

from __future__ import annotations

from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from django.conf import settings
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBadRequest, HttpResponseForbidden
from django.shortcuts import render, resolve_url
from django.urls import NoReverseMatch
from django.views.decorators.cache import never_cache
from django_eventstream.views import events as eventstream_events
from gripcontrol import Channel

from dashboards_live import conf
from dashboards_live.conf import shared_frames
from dashboards_live.contract import is_channel
from dashboards_live.declaring import dashboards
from dashboards_live.declaring.dashboards import Dashboard
from dashboards_live.publishing.encoding import grip_channel
from dashboards_live.publishing.storage import last_events
from dashboards_live.publishing.storage.replay import compacting
from dashboards_live.running import viewers
from dashboards_live.web import pages
from dashboards_live.web.channels import ChannelRules, access_channels, refusal
from dashboards_live.web.resume import BadStreamRequest, check_last_ids, meta_reader
from dashboards_live.web.streams import grip_view

DEMO_NAME = "demo"
# skip-users runs a user-list check on every delivery, for send_event's
# skip_user_ids; the app's streams deliver to every reader of a channel.
# build-id stays: send_event's items ask for it, and Pushpin ends a stream
# whose filters lack one an item asks for.
PER_DELIVERY_FILTERS = ("skip-users",)
ANONYMOUS_KICKS = "user-anonymous"
# django-eventstream opens every stream with a 2 KB comment, for browsers that
# buffered the first bytes of a response (old IE, XHR polyfills). EventSource
# needs none of it, and behind Pushpin it costs 2 KB written per connect and
# about 4 KB of Pushpin's memory per held connection (bench/fanout.py).
OPENING_PADDING = b":" + b" " * 2048 + b"\n\n"


def dashboard_index(request: HttpRequest) -> HttpResponse:
    rules = ChannelRules.from_settings()
    readable = [d for d in dashboards.autodiscover().all() if rules.can_read(request.user, d.channel)]
    # None while no count is current (runpushpinstats not running): the page then shows none
    counts = viewers.watching()
    listed = [(d, None if counts is None else counts.get(d.channel, 0)) for d in readable]
    context = {"dashboards": readable, "listed": listed, "hidden": not readable, "login_url": _login_url()}
    return render(request, "dashboards_live/index.html", context)


def dashboard_page(request: HttpRequest, name: str) -> HttpResponse:
    dashboard = dashboards.autodiscover().get(name)
    if dashboard is None:
        raise Http404("no such dashboard")
    return _page(request, dashboard, dashboard.channel)


def demo_dashboard(request: HttpRequest, channel: str) -> HttpResponse:
    """The demo dashboard on another channel (a second demo, or a test's own)."""
    demo = dashboards.autodiscover().get(DEMO_NAME)
    if demo is None or not is_channel(channel):
        raise Http404("no such channel")
    return _page(request, demo, channel)


def _login_url() -> str | None:
    try:
        return resolve_url(settings.LOGIN_URL)
    except NoReverseMatch:
        return None


def _refused(request: HttpRequest, channel: str) -> HttpResponse | None:
    if ChannelRules.from_settings().can_read(request.user, channel):
        return None
    if not request.user.is_authenticated:
        return redirect_to_login(request.get_full_path())
    raise PermissionDenied(refusal(request.user, channel))


def _page(request: HttpRequest, dashboard: type[Dashboard], channel: str) -> HttpResponse:
    refused = _refused(request, channel)
    if refused is not None:
        return refused
    region = pages.live_region(dashboard, channel)
    return render(
        request, "dashboards_live/dashboard.html", pages.context(region, watching=viewers.watching_channel(channel))
    )


@never_cache
def fragment(request: HttpRequest, channel: str, key: str) -> HttpResponse:
    """A component's last stored fragment: what `poll_rate` components fetch while the stream is down."""
    if not is_channel(channel):
        raise Http404("no such channel")
    reason = refusal(request.user, channel)
    if reason is not None:
        return HttpResponseForbidden(reason + "\n", content_type="text/plain")
    last = last_events(channel, [key]).get(key)
    if last is None:
        return HttpResponse(status=204)  # htmx leaves the placeholder in place
    response = HttpResponse(last.data, content_type="text/html; charset=utf-8")
    response["Last-Modified"] = last.created.strftime("%a, %d %b %Y %H:%M:%S GMT")
    return response


FULL_REPLAY = "replay"


def replays_in_full(request: HttpRequest) -> bool:
    """Whether this stream request gets every event it missed rather than the compacted replay.

    Pushpin recovering a gap it saw in a live stream (a publish whose previous
    id never came: a loop killed between storing and posting, publishers
    racing) asks with recover=true, and each further page of it through a next
    link we mark: a subscriber that never disconnected gets every event once,
    in order. A client's own resume (Last-Event-ID, lastEventId) is compacted.
    Only Pushpin follows next links, and their es-meta is signed with our key
    (checked by meta_reader), so a client cannot ask for a full replay.
    """
    if request.GET.get("recover") == "true":
        return True
    paged = request.GET.get("link") == "next" and bool(request.GET.get("es-meta"))
    return paged and request.GET.get(FULL_REPLAY) == "full"


def with_query(url: str, name: str, value: str) -> str:
    parts = urlsplit(url)
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k != name] + [(name, value)]
    return urlunsplit(parts._replace(query=urlencode(query)))


@grip_view
def events(request: HttpRequest, channel: str) -> HttpResponse:
    if not is_channel(channel):
        raise Http404("no such channel")
    grip = getattr(request, "grip", None)
    if not (grip and grip.proxied and grip.signed) and not conf.setting("DASHBOARDS_ALLOW_DIRECT_STREAMING"):
        # without this, django-eventstream would stream from this worker itself
        return HttpResponseForbidden(
            "Event streams are served through Pushpin only: this request has no valid Grip-Sig.\n",
            content_type="text/plain",
        )
    try:
        check_last_ids(request)
        # Pushpin's follow-up requests carry their reader in es-meta (signed by us)
        reader = meta_reader(request, channel)
    except BadStreamRequest as exc:
        return HttpResponseBadRequest(f"{exc}\n", content_type="text/plain")
    # A plain 403 ends an EventSource for good; django-eventstream's own
    # refusal is a 200 stream carrying one stream-error event.
    reason = refusal(request.user if reader is None else reader, channel)
    if reason is not None:
        return HttpResponseForbidden(reason + "\n", content_type="text/plain")
    full = replays_in_full(request)
    with compacting(not full):
        response: HttpResponse = eventstream_events(request, channel=channel)
    instruct = grip.instruct if grip else None
    if full and instruct is not None and instruct.next_link:
        # the next page of a recovery is a recovery too
        instruct.next_link = with_query(instruct.next_link, FULL_REPLAY, "full")
    if instruct is not None:
        response.content = response.content.removeprefix(OPENING_PADDING)
    if instruct is not None and shared_frames():
        # we publish to no user lists: Pushpin need not check one for every delivery
        data = grip_channel(channel)
        for held in instruct.channels:
            if held.name == data:
                held.filters = [f for f in held.filters if f not in PER_DELIVERY_FILTERS]
        if not request.user.is_authenticated:
            # django-eventstream's per-user channel carries the kicks that end a
            # user's streams (revocation); nobody kicks the anonymous user, and a
            # second subscription costs Pushpin about as much again per connect
            instruct.channels = [held for held in instruct.channels if held.name != ANONYMOUS_KICKS]
    rule = ChannelRules.from_settings().rule_for(channel)
    if instruct is not None and rule is not None:
        for name in access_channels(rule):
            instruct.add_channel(Channel(name))
    return response
