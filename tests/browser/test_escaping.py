"""Hostile values published through the real Pushpin to an open dashboard execute nothing."""

from __future__ import annotations

from typing import Any

import pytest

from tests.support.stack import Stack

pytestmark = pytest.mark.browser

# each would set window.__xss or log "xss-N" if it ever became markup
SCRIPT = '<script>window.__xss = 1; console.log("xss-1")</script>'
DOUBLE_QUOTE = '"><img src=x onerror="window.__xss=2;console.log(\'xss-2\')">'
SINGLE_QUOTE = "' onmouseover='window.__xss=3;console.log(\"xss-3\")' x='"
SVG = '<svg onload="window.__xss=4"></svg>'
HTMX = '<div hx-on:htmx:load="window.__xss=5" hx-get="/" hx-trigger="load">x</div>'

PUBLISH = """
from dashboards_live.declaring.components import Chart, Stat
from dashboards_live.contract import make_event
from dashboards_live.publishing.delivery import publish
stat = Stat("sse_stat", title={title!r}).render({{"text": {text!r}, "sub_text": {sub!r}}})
chart = Chart("sse_chart", title={chart_title!r}, unit={unit!r}).render([1, 2, 3])
publish([make_event("xss", "sse_stat", stat), make_event("xss", "sse_chart", chart)])
"""

WATCH_SSE = "document.addEventListener('htmx:sseOpen', () => { window.__sseOpen = true })"


def assert_inert(page: Any, console: list[str]) -> None:
    # hover everything a payload could have attached a handler to
    for selector in ("#sse_stat .stat", "#sse_stat .stat-text", "#sse_stat .stat-sub", "#sse_chart figure"):
        page.hover(selector)
    page.wait_for_timeout(300)
    assert page.evaluate("window.__xss") is None
    assert [m for m in console if "xss" in m] == []
    assert page.errors == []
    markup = "#sse_stat img, #sse_stat script, #sse_stat svg, #sse_chart img, [hx-on\\:htmx\\:load]"
    assert page.query_selector_all(markup) == []
    assert page.inner_text("#sse_stat .stat-text") == SCRIPT
    assert page.inner_text("#sse_stat .stat-sub") == DOUBLE_QUOTE + SVG
    assert page.inner_text("#sse_stat .stat-title") == DOUBLE_QUOTE
    assert page.get_attribute("#sse_stat .stat", "aria-label") == DOUBLE_QUOTE
    assert page.inner_text("#sse_chart .chart-title") == SINGLE_QUOTE
    assert page.inner_text("#sse_chart .chart-latest") == "3" + HTMX


def test_hostile_values_show_as_text_live_and_after_a_reload(stack: Stack, page: Any) -> None:
    console: list[str] = []
    page.on("console", lambda message: console.append(message.text))
    page.add_init_script(WATCH_SSE)
    page.goto(stack.url("/demo/xss/"))
    page.wait_for_function("window.__sseOpen === true", timeout=10_000)

    code = PUBLISH.format(title=DOUBLE_QUOTE, text=SCRIPT, sub=DOUBLE_QUOTE + SVG, chart_title=SINGLE_QUOTE, unit=HTMX)
    result = stack.manage("shell", "-c", code)
    assert result.returncode == 0, result.stderr
    # arrived live: the placeholders are gone and the text is there
    page.wait_for_function(
        "document.querySelector('#sse_stat .stat-text') && document.querySelector('#sse_chart .chart-latest')",
        timeout=10_000,
    )
    assert_inert(page, console)

    # the page rendered from storage carries the same escaped fragments
    page.reload()
    page.wait_for_selector("#sse_stat .stat-text")
    assert_inert(page, console)
