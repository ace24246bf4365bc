"""{% live_dashboard %} and {% live_component %} put live regions into a project's own pages."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.contrib.auth.models import AnonymousUser
from django.template import Context, Template, TemplateSyntaxError
from django.test import RequestFactory

from dashboards_live.declaring.demo import Demo


def render(source: str, user: Any = None) -> str:
    request = RequestFactory().get("/my/own/page/")
    request.user = user or AnonymousUser()
    return Template("{% load dashboards_live %}" + source).render(Context({"request": request}))


@pytest.fixture(autouse=True)
def channels(settings: Any) -> None:
    settings.DASHBOARDS_CHANNELS = {"demo": "public", "other": "public", "vault": "staff"}


@pytest.mark.django_db
def test_a_whole_dashboard_is_one_stream_with_every_component_and_an_indicator() -> None:
    html = render('{% live_dashboard "demo" %}')
    assert re.findall(r'sse-connect="([^"]+)"', html) == ["/events/demo/?lastEventId=demo%3A0"]
    assert html.count("sse-swap=") == len(Demo.components)
    assert 'id="stream-state-1"' in html and 'data-indicator="stream-state-1"' in html


@pytest.mark.django_db
def test_components_of_two_dashboards_on_two_channels_are_two_streams() -> None:
    html = render('{% live_component "demo.sse_stat" "demo.memory" %}{% live_dashboard "demo" channel="other" %}')
    assert re.findall(r'sse-connect="([^"]+)"', html) == [
        "/events/demo/?lastEventId=demo%3A0",
        "/events/other/?lastEventId=other%3A0",
    ]
    assert re.findall(r'data-indicator="([^"]+)"', html) == ["stream-state-1", "stream-state-2"]
    first = html.split('sse-connect="/events/other/?lastEventId=other%3A0"')[0]
    assert first.count("sse-swap=") == 2


@pytest.mark.django_db
def test_the_stream_url_follows_where_the_app_is_mounted(settings: Any) -> None:
    settings.ROOT_URLCONF = "tests.support.urls_under_a_prefix"
    html = render('{% live_component "demo.sse_stat" %}')
    assert 'sse-connect="/live/events/demo/?lastEventId=demo%3A0"' in html


@pytest.mark.django_db
def test_a_channel_the_visitor_may_not_read_renders_nothing() -> None:
    assert render('{% live_dashboard "demo" channel="vault" %}').strip() == ""


@pytest.mark.django_db
def test_poll_rate_components_get_their_fragment_url(settings: Any) -> None:
    html = render('{% live_dashboard "demo" %}')
    polled = [c for c in Demo.components if c.poll_rate]
    assert polled
    for component in polled:
        assert f'hx-get="/fragments/demo/{component.key}/"' in html


def test_unknown_names_are_template_errors() -> None:
    with pytest.raises(TemplateSyntaxError, match="no dashboard named 'nope'"):
        render('{% live_dashboard "nope" %}')
    with pytest.raises(TemplateSyntaxError, match="no component"):
        render('{% live_component "demo.nope" %}')


def test_live_head_loads_htmx_the_stylesheet_and_the_indicator_script() -> None:
    html = render("{% live_head %}")
    assert "htmx" in html and "dashboards_live/dashboards_live.css" in html and "dashboards_live/live.js" in html
    without = render("{% live_head htmx=False %}")
    assert "htmx" not in without.replace("dashboards_live", "") and "live.js" in without


@pytest.mark.parametrize(("line", "script"), [(None, "htmx-2.min.js"), ("2", "htmx-2.min.js"), ("4", "htmx-4.min.js")])
def test_live_head_loads_the_htmx_line_of_the_setting(settings: Any, line: str | None, script: str) -> None:
    settings.DASHBOARDS_HTMX = line
    html = render("{% live_head %}")
    assert script in html and script.replace("htmx", "ext/hx-sse") in html


@pytest.mark.django_db
def test_a_region_is_wired_for_the_htmx_line_of_the_setting(settings: Any) -> None:
    html = render('{% live_dashboard "demo" %}')
    assert 'hx-ext="sse" sse-connect="/events/demo/?lastEventId=demo%3A0"' in html and "hx-sse:connect" not in html
    settings.DASHBOARDS_HTMX = "4"
    html = render('{% live_dashboard "demo" %}')
    # htmx 4: its own attribute, and nothing swapped into the region itself (a 502's text)
    assert 'hx-sse:connect="/events/demo/?lastEventId=demo%3A0" hx-swap="none"' in html and "sse-connect=" not in html
    # the slots are found by live.js under either line
    assert html.count("sse-swap=") == len(Demo.components)
