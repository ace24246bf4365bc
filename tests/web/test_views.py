from __future__ import annotations

import time
from typing import Any

import jwt
import pytest
from django.conf import settings
from django.contrib.auth.models import Group, User
from django.test import Client
from gripcontrol import parse_grip_uri

from dashboards_live.contract import Event
from dashboards_live.declaring.demo import Demo
from dashboards_live.publishing.storage import EventStore

pytestmark = pytest.mark.django_db

DEMO_PAGE = "/dashboards/demo/"


def grip_sig(key: Any = None, iss: str = "pushpin", exp: int | None = None) -> str:
    key = key if key is not None else parse_grip_uri(settings.GRIP_URL)["key"]
    return jwt.encode({"iss": iss, "exp": exp or int(time.time()) + 60}, key, algorithm="HS256")


def test_page_renders_placeholders_before_any_event(client: Client) -> None:
    page = client.get(DEMO_PAGE).content.decode()
    assert page.count("Waiting for the first value") == len(Demo.components)
    assert 'hx-ext="sse"' in page and 'sse-connect="/events/demo/?lastEventId=demo%3A0"' in page
    assert 'sse-swap="sse_stat"' in page and 'sse-swap="sse_chart"' in page


def test_page_renders_the_last_stored_event_per_component(client: Client) -> None:
    EventStore().append(
        [
            Event("demo", "sse_stat", "<b>old</b>"),
            Event("demo", "sse_stat", "<b>new</b>"),
            Event("demo", "sse_chart", "<svg>c</svg>"),
        ]
    )
    page = client.get(DEMO_PAGE).content.decode()
    assert "<b>new</b>" in page and "<b>old</b>" not in page
    assert "<svg>c</svg>" in page


def test_home_redirects_to_the_demo_dashboard(client: Client) -> None:
    response = client.get("/")
    assert response.status_code == 302 and response["Location"] == DEMO_PAGE


def test_the_page_opens_one_stream_for_every_component_and_has_the_indicator(client: Client) -> None:
    page = client.get(DEMO_PAGE).content.decode()
    assert page.count("sse-connect=") == 1
    assert page.count("sse-swap=") == len(Demo.components)
    assert 'id="stream-state"' in page and "dashboards_live/live.js" in page
    assert "<h2>Service</h2>" in page and "<h2>Requests</h2>" in page


def test_a_poll_rate_component_polls_its_fragment_and_others_do_not(client: Client) -> None:
    page = client.get(DEMO_PAGE).content.decode()
    assert page.count("hx-get=") == 1
    assert 'hx-get="/fragments/demo/queue/"' in page


def test_the_fragment_endpoint_gives_the_last_stored_fragment(client: Client) -> None:
    assert client.get("/fragments/demo/queue/").status_code == 204
    EventStore().append([Event("demo", "queue", "<b>1</b>"), Event("demo", "queue", "<b>2</b>")])
    response = client.get("/fragments/demo/queue/")
    assert response.status_code == 200 and response.content == b"<b>2</b>"
    assert "no-cache" in response["Cache-Control"]


def test_the_fragment_endpoint_follows_the_channel_rules(client: Client, settings: Any) -> None:
    settings.DASHBOARDS_CHANNELS = {"demo": "public", "sales": "staff"}
    EventStore().append([Event("sales", "total", "<b>secret</b>")])
    response = client.get("/fragments/sales/total/")
    assert response.status_code == 403 and b"secret" not in response.content


def test_the_index_lists_the_dashboards_the_user_may_read(client: Client, settings: Any) -> None:
    from dashboards_live.declaring.components import Stat
    from dashboards_live.declaring.dashboards import Dashboard, registry

    settings.DASHBOARDS_CHANNELS = {"demo": "public", "vault": "staff"}
    with registry.scoped():

        class Vault(Dashboard):
            title = "The vault"
            secret = Stat()

        anonymous = client.get("/dashboards/").content.decode()
        assert "Demo dashboard" in anonymous and "The vault" not in anonymous
        assert client.get("/dashboards/vault/").status_code == 302
        client.force_login(User.objects.create_user("boss", is_staff=True))
        staff = client.get("/dashboards/").content.decode()
        assert 'href="/dashboards/vault/"' in staff
        assert client.get("/dashboards/vault/").status_code == 200
        client.force_login(User.objects.create_user("nobody"))
        assert client.get("/dashboards/vault/").status_code == 403
    assert client.get("/dashboards/nope/").status_code == 404


def test_page_loads_htmx_and_the_sse_extension_from_django_htmx(client: Client) -> None:
    page = client.get(DEMO_PAGE).content.decode()
    assert "django_htmx/htmx-2.min.js" in page
    assert "django_htmx/ext/hx-sse-2.min.js" in page
    assert "cdn" not in page.lower()


def test_other_channels_have_their_own_page(client: Client, settings: Any) -> None:
    settings.DASHBOARDS_CHANNELS = {"ops.*": "public"}
    assert 'sse-connect="/events/ops.1/?lastEventId=ops.1%3A0"' in client.get("/demo/ops.1/").content.decode()
    assert client.get("/demo/bad%20name/").status_code == 404


@pytest.fixture
def private(settings: Any) -> None:
    settings.DASHBOARDS_CHANNELS = {"demo": "public", "sales": "group:sales"}
    Group.objects.create(name="sales").user_set.add(User.objects.create_user("ann"))
    User.objects.create_user("bob")


@pytest.mark.usefixtures("private")
@pytest.mark.parametrize(
    ("user", "path", "status"),
    [
        (None, "/demo/sales/", 302),
        ("bob", "/demo/sales/", 403),
        ("ann", "/demo/sales/", 200),
        (None, "/demo/nope/", 302),
    ],
)
def test_dashboard_pages_follow_the_channel_rules(client: Client, user: str | None, path: str, status: int) -> None:
    if user:
        client.force_login(User.objects.get(username=user))
    response = client.get(path)
    assert response.status_code == status
    if status == 302:
        assert response["Location"] == f"/login/?next={path}"


@pytest.mark.usefixtures("private")
@pytest.mark.parametrize(
    ("user", "reason"),
    [(None, "Channel 'sales' needs a login."), ("bob", "Channel 'sales' is not readable by this account")],
)
def test_signed_requests_for_unreadable_channels_get_a_one_line_403(
    client: Client, user: str | None, reason: str
) -> None:
    if user:
        client.force_login(User.objects.get(username=user))
    response = client.get("/events/sales/", HTTP_GRIP_SIG=grip_sig())
    assert response.status_code == 403
    assert response.content.decode().startswith(reason) and response.content.decode().count("\n") == 1
    assert not response.has_header("Grip-Hold")


@pytest.mark.usefixtures("private")
def test_private_streams_are_marked_with_their_rule(client: Client) -> None:
    client.force_login(User.objects.get(username="ann"))
    channels = client.get("/events/sales/", HTTP_GRIP_SIG=grip_sig())["Grip-Channel"]
    assert "events-sales" in channels and "access-authenticated" in channels and "access-group%3Asales" in channels
    assert "access-" not in client.get("/events/demo/", HTTP_GRIP_SIG=grip_sig())["Grip-Channel"]


def test_events_endpoint_refuses_requests_without_grip_sig(client: Client) -> None:
    response = client.get("/events/demo/")
    assert response.status_code == 403
    assert "Grip-Sig" in response.content.decode()
    assert not response.has_header("Grip-Hold")


@pytest.mark.parametrize(
    "sig",
    [
        lambda: grip_sig(key="wrong"),
        lambda: grip_sig(exp=int(time.time()) - 10),
        lambda: grip_sig(iss="someone-else"),
        lambda: "not-a-jwt",
    ],
    ids=["wrong-key", "expired", "wrong-issuer", "garbage"],
)
def test_events_endpoint_refuses_forged_grip_sig(client: Client, sig: Any) -> None:
    response = client.get("/events/demo/", HTTP_GRIP_SIG=sig())
    assert response.status_code == 403
    assert not response.has_header("Grip-Hold")


def test_signed_request_gets_hold_instructions(client: Client) -> None:
    response = client.get("/events/demo/", HTTP_GRIP_SIG=grip_sig())
    assert response.status_code == 200
    assert response["Grip-Hold"] == "stream"
    assert "events-demo" in response["Grip-Channel"]


def test_home_lists_the_dashboards_when_the_demo_is_not_installed(client: Client) -> None:
    from dashboards_live.declaring.dashboards import registry

    with registry.scoped():
        registry.remove(Demo)
        response = client.get("/")
    assert response.status_code == 302 and response["Location"] == "/dashboards/"


def test_streams_ask_pushpin_for_build_id_only(client: Client, settings: Any) -> None:
    EventStore().append([Event("demo", "sse_stat", "<b>1</b>")])  # a last id: build-id would be asked for

    def data_channel() -> str:
        header = client.get("/events/demo/", HTTP_GRIP_SIG=grip_sig())["Grip-Channel"]
        [part] = [p.strip() for p in header.split(",") if p.strip().startswith("events-demo")]
        return part

    # send_event's items ask for build-id; nobody here publishes to user lists
    assert data_channel() == "events-demo; prev-id=1; filter=build-id"
    settings.DASHBOARDS_SHARED_FRAMES = False
    assert "filter=build-id" in data_channel() and "filter=skip-users" in data_channel()


def test_anonymous_streams_hold_no_kick_channel_and_users_keep_theirs(client: Client) -> None:
    def channels() -> list[str]:
        header = client.get("/events/demo/", HTTP_GRIP_SIG=grip_sig())["Grip-Channel"]
        return [p.split(";")[0].strip() for p in header.split(",")]

    assert channels() == ["events-demo"]  # nobody kicks the anonymous user
    ann = User.objects.create_user("kickable")
    client.force_login(ann)
    assert channels() == ["events-demo", f"user-{ann.pk}"]  # revocation ends this user's streams


def test_a_stream_opens_without_django_eventstreams_2kb_padding(client: Client) -> None:
    EventStore().append([Event("demo", "sse_stat", "<b>1</b>")])
    body = client.get("/events/demo/", HTTP_GRIP_SIG=grip_sig(), HTTP_LAST_EVENT_ID="demo:0").content
    # the stream opens at once with stream-open, then replays what was missed
    assert body.startswith(b"event: stream-open\ndata:\n\n"), body[:80]
    assert b"<b>1</b>" in body and b" " * 64 not in body


def test_the_index_and_the_page_show_who_is_watching(client: Client) -> None:
    from datetime import timedelta

    from django.utils import timezone

    from dashboards_live.running import viewers

    assert "watching" not in client.get("/dashboards/").content.decode(), "no count known: none shown"
    assert "watching" not in client.get(DEMO_PAGE).content.decode()
    viewers.store({"demo": 3}, 3, timezone.now() + timedelta(seconds=30))
    assert '<span class="watching">3 watching</span>' in client.get("/dashboards/").content.decode()
    assert '<span class="watching">3 watching</span>' in client.get(DEMO_PAGE).content.decode()
    viewers.store({"ops": 2}, 2, timezone.now() + timedelta(seconds=30))
    assert '<span class="watching">0 watching</span>' in client.get(DEMO_PAGE).content.decode()


@pytest.mark.parametrize(
    ("query", "full"),
    [
        ("", False),
        ("lastEventId=demo:3", False),  # a client's resume: compacted
        ("recover=true", True),  # Pushpin recovering a gap
        ("link=next&es-meta=x.y.z&lastEventId=demo:3", False),  # a compacted replay's next page
        ("link=next&es-meta=x.y.z&lastEventId=demo:3&replay=full", True),  # a recovery's next page
        ("replay=full&lastEventId=demo:3", False),  # not a next link Pushpin follows
        ("link=next&replay=full&lastEventId=demo:3", False),  # no es-meta: not ours
    ],
)
def test_only_pushpins_recovery_replays_in_full(query: str, full: bool) -> None:
    from django.test import RequestFactory

    from dashboards_live.web.views import replays_in_full

    assert replays_in_full(RequestFactory().get(f"/events/demo/?{query}")) is full


def test_the_full_replay_mark_replaces_any_earlier_one() -> None:
    from dashboards_live.web.views import with_query

    assert with_query("/events/demo/?link=next&replay=x", "replay", "full") == "/events/demo/?link=next&replay=full"
