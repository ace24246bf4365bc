from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import Client

from dashboards_live.contract import Event
from dashboards_live.publishing.storage import EventStore

pytestmark = pytest.mark.django_db
SHOP = "/dd/ddapp/shopdashboard/"
STAFF = "/dd/ddapp/staffdashboard/"


def test_the_page_opens_one_stream_for_its_live_components_beside_ordinary_ones(client: Client) -> None:
    page = client.get(SHOP).content.decode()
    assert page.count("data-live-stream") == 1 and 'sse-connect="/events/test/?lastEventId=test%3A0"' in page
    assert 'sse-swap="sse_stat"' in page and 'sse-swap="revenue"' in page
    assert page.count("Waiting for the first value") == 2
    assert 'id="stream-state"' in page  # the connection indicator
    assert "<h2>1,204</h2>" in page  # the ordinary Stat, drawn by django-dashboards
    # the htmx the app's pages load, not django-dashboards' 1.8 beside it
    assert "django_htmx/htmx-" in page and "dashboards/vendor/js/htmx.min.js" not in page
    assert "dashboards/vendor/js/plotly.min.js" in page and "dashboards_live/django_dashboards.js" in page


def test_the_page_renders_each_live_component_from_its_last_stored_event(client: Client, ddapp: Any) -> None:
    shop = ddapp.ShopDashboard
    EventStore().append(
        [
            Event("test", "sse_stat", shop.sse_stat.render(shop.sse_stat.next_state(None, "old"))),
            Event("test", "sse_stat", shop.sse_stat.render(shop.sse_stat.next_state(None, "new"))),
            Event("test", "revenue", shop.revenue.render(shop.revenue.next_state(None, [7, 8]))),
        ]
    )
    page = client.get(SHOP).content.decode()
    assert "<h2>new</h2>" in page and "<h2>old</h2>" not in page
    assert '{"data": [{"type": "scatter", "mode": "lines", "y": [7, 8]}], "layout": {}}' in page
    # a stream that starts after what the page shows
    assert 'sse-connect="/events/test/?lastEventId=' in page


def test_a_poll_rate_component_polls_its_fragment_while_the_stream_is_down(client: Client) -> None:
    page = client.get(SHOP).content.decode()
    assert 'hx-get="/fragments/test/sse_stat/"' in page and 'data-poll-every="1s"' in page
    assert 'hx-get="/fragments/test/revenue/"' not in page


@pytest.mark.parametrize(
    ("user", "status"),
    [(None, 302), ("worker", 403), ("boss", 200)],
)
@pytest.mark.parametrize("path", [STAFF, "/fragments/staffshop/orders/", STAFF + "@component/orders/"])
def test_a_staff_only_dashboard_follows_its_rule_on_page_fragments_and_partials(
    client: Client, user: str | None, status: int, path: str
) -> None:
    if user is not None:
        client.force_login(User.objects.create_user(user, is_staff=user == "boss"))
    expected = 403 if path.startswith("/fragments/") and status == 302 else status
    if path.startswith("/fragments/") and status == 200:
        expected = 204  # readable, nothing stored yet
    assert client.get(path).status_code == expected


def test_an_ordinary_django_dashboards_page_is_left_alone(client: Client) -> None:
    page = client.get("/dd/ddapp/plaindashboard/").content.decode()
    assert "dashboards/vendor/js/htmx.min.js" in page and "<h2>42</h2>" in page
    assert "data-live-stream" not in page and "dashboards_live" not in page
