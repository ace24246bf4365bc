"""Live components on django-dashboards pages (tests/support/ddapp), end to end: real Pushpin, gunicorn, Chromium."""

from __future__ import annotations

import http.client
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support.stack import Stack

pytestmark = pytest.mark.browser

# from other processes, as a Celery task or a cron job would
PUSH = (
    "from dashboards_live import push_many\n"
    "from tests.support.ddapp.dashboards import ShopDashboard\n"
    "push_many([(ShopDashboard.sse_stat, {{'text': '{stat}'}}), (ShopDashboard.revenue, {chart})])\n"
)
# the seed's snippet as its page has it (synchronously: a short-lived process would lose what
# send_event's background thread had not sent yet)
SEED = (
    "from dashboards.component import Stat\n"
    "from django.template.loader import render_to_string\n"
    "from django.utils.html import strip_spaces_between_tags\n"
    "from django_eventstream import send_event\n"
    "sse_stat = Stat(value={'text': 'seed 7%', 'sub_text': 'Via SSE'}, key='sse_stat')\n"
    "rendered_stat = render_to_string(sse_stat.template_name,"
    " {'component': sse_stat, 'rendered_value': sse_stat.get_value()})\n"
    "parsed_stat = strip_spaces_between_tags(rendered_stat.strip())\n"
    "send_event('test', 'sse_stat', parsed_stat, json_encode=False, async_publish=False)\n"
)
# the texts the live Stat showed, in order
WATCH_STAT = """() => {
    window.__stat = [];
    new MutationObserver(() => {
        const text = document.querySelector('#sse_stat h2')?.textContent;
        if (text && text !== window.__stat.at(-1)) window.__stat.push(text);
    }).observe(document.querySelector('#sse_stat'), {childList: true, subtree: true, characterData: true});
}"""
TRACE = "() => document.querySelector('#revenue .dl-plotly-plot')?.data?.[0]?.y"


@pytest.fixture(scope="module")
def dd_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """A project on django-dashboards: tests/support/ddapp's settings, a staff-only live dashboard."""
    # one worker: each imports pandas and plotly with django-dashboards, once, here
    s = Stack(Path(tmp_path_factory.mktemp("ddapp")), web_workers=1)
    s.env["DJANGO_SETTINGS_MODULE"] = "tests.support.ddapp.settings"
    s.env["DASHBOARDS_CHANNELS"] = "staffshop=staff,*=public"
    try:
        s.start_web()
        urllib.request.urlopen(s.web_url("/dd/ddapp/plaindashboard/"), timeout=120).close()
        s.start_pushpin()
        yield s
    finally:
        s.close()


def run(stack: Stack, code: str) -> None:
    result = stack.manage("shell", "-c", code)
    assert result.returncode == 0, result.stderr


def status(stack: Stack, path: str) -> int:
    conn = http.client.HTTPConnection("127.0.0.1", stack.client_port, timeout=10)
    try:
        conn.request("GET", path, headers={"Accept": "text/event-stream"})
        return conn.getresponse().status
    finally:
        conn.close()


def test_a_live_django_dashboards_page(dd_stack: Stack, page: Any) -> None:
    run(dd_stack, PUSH.format(stat="first", chart="[1, 2, 3]"))
    streams: list[str] = []
    page.on("request", lambda r: streams.append(r.url) if "/events/" in r.url else None)

    page.goto(dd_stack.url("/dd/ddapp/shopdashboard/"))
    # rendered from the last stored values: there before any event
    assert page.inner_text("#sse_stat h2") == "first"
    assert page.evaluate(TRACE) == [1, 2, 3]
    page.wait_for_selector("#stream-state[data-stream=live]", timeout=20_000)
    assert [u.split("?")[0] for u in streams] == [dd_stack.url("/events/test/")]
    # the ordinary component beside them, and django-dashboards' own look
    assert "1,204" in page.inner_text(".dashboard-container")
    assert page.eval_on_selector("#sse_stat > div", "e => e.className") == "stat"

    page.evaluate(WATCH_STAT)
    page.evaluate("() => { document.querySelector('#revenue .dl-plotly-plot').__drawn = true; }")
    # push() from another process, then the seed's snippet: the Stat shows each in turn
    run(dd_stack, PUSH.format(stat="pushed 12", chart="{'data': [{'type': 'bar', 'y': [4, 5, 6]}]}") + SEED)
    page.wait_for_function("window.__stat.at(-1) === 'seed 7%'", timeout=5_000)
    assert page.evaluate("window.__stat") == ["pushed 12", "seed 7%"]
    assert page.evaluate(TRACE) == [4, 5, 6]
    # redrawn in place: the chart drawn at load took the new figure
    assert page.evaluate("() => document.querySelector('#revenue .dl-plotly-plot').__drawn") is True
    assert page.evaluate("() => document.querySelector('#revenue .dl-plotly-plot').data[0].type") == "bar"

    page.route("**/events/**", lambda route: route.abort())
    page.reload()
    assert page.inner_text("#sse_stat h2") == "seed 7%"
    assert page.evaluate(TRACE) == [4, 5, 6]
    assert len(set(u.split("?")[0] for u in streams)) == 1
    assert page.errors == []


def test_a_staff_only_dashboard_refuses_anonymous_users_everywhere(dd_stack: Stack, page: Any) -> None:
    response = page.goto(dd_stack.url("/dd/ddapp/staffdashboard/"))
    assert "/login/?next=/dd/ddapp/staffdashboard/" in page.url
    assert response is not None and response.ok
    assert status(dd_stack, "/events/staffshop/") == 403
    assert status(dd_stack, "/fragments/staffshop/orders/") == 403
    assert status(dd_stack, "/dd/ddapp/staffdashboard/@component/orders/") == 302


def test_an_ordinary_django_dashboards_page_is_unchanged(dd_stack: Stack, page: Any) -> None:
    page.goto(dd_stack.url("/dd/ddapp/plaindashboard/"))
    # django-dashboards' own htmx, and nothing of ours
    assert page.evaluate("htmx.version").startswith("1.8")
    assert page.query_selector("[data-live-stream]") is None
    assert "dashboards_live" not in page.content()
    assert "42" in page.inner_text(".dashboard-container")
    assert page.errors == []
