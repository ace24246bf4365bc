from __future__ import annotations

import time
from typing import Any

import pytest

from tests.support.stack import Stack

pytestmark = pytest.mark.browser


def snapshot(page: Any) -> tuple[str, str]:
    return (
        page.inner_text("#sse_stat .stat-text") if page.query_selector("#sse_stat .stat-text") else "",
        page.get_attribute("#sse_chart g path", "d") or "" if page.query_selector("#sse_chart g path") else "",
    )


def test_stat_and_chart_change_live_and_survive_a_reload(stack: Stack, page: Any) -> None:
    feed = stack.spawn("demo_feed", "--interval", "0.5", "--channel", "browser", "--seed", "5")
    page.goto(stack.url("/demo/browser/"))
    # htmx and its SSE extension come from django-htmx's static files, through Pushpin
    assert page.evaluate("typeof htmx") == "object"
    assert page.evaluate("htmx.version").startswith("2.")

    seen: list[tuple[str, str]] = []
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        current = snapshot(page)
        if current[0] and current[1] and (not seen or current != seen[-1]):
            seen.append(current)
        stat_changes = len({s[0] for s in seen}) - 1
        chart_changes = len({s[1] for s in seen}) - 1
        if stat_changes >= 2 and chart_changes >= 2:
            break
        time.sleep(0.05)
    assert len({s[0] for s in seen}) >= 3, f"Stat changed fewer than twice: {seen}"
    assert len({s[1] for s in seen}) >= 3, f"Chart changed fewer than twice: {seen}"
    assert page.query_selector("#sse_chart svg") is not None

    feed.terminate()
    assert feed.wait(5) == 0
    last = snapshot(page)
    page.reload()
    # the page is rendered from storage: the last values are there before any event
    assert snapshot(page) == last
    assert page.errors == []
