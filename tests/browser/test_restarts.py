"""Nothing lost on screen: restarts of Pushpin or Django under an open page."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator
from typing import Any

import pytest

from tests.support.stack import Stack

pytestmark = pytest.mark.browser
BACK_WITHIN = 5.0


def stat_html(page: Any) -> str:
    return str(page.inner_html("#sse_stat"))


def stored_stat_text(stack: Stack, channel: str) -> str:
    rows = stack.sql(
        "SELECT data FROM django_eventstream_event WHERE channel = ? AND type = 'sse_stat' ORDER BY eid DESC LIMIT 1",
        (channel,),
    )
    match = re.search(r'stat-text">([^<]*)<', json.loads(str(rows[0][0])))
    assert match is not None
    return match.group(1)


def wait_for_change(page: Any, before: str, timeout: float) -> float:
    began = time.monotonic()
    while time.monotonic() - began < timeout:
        if stat_html(page) != before:
            return time.monotonic() - began
        time.sleep(0.05)
    raise AssertionError(f"the page did not change within {timeout} s")


@pytest.fixture
def live_page(own_stack: Stack, page: Any) -> Iterator[tuple[Stack, Any, Any]]:
    feed = own_stack.spawn("demo_feed", "--interval", "0.5", "--channel", "restarts", "--seed", "9")
    page.goto(own_stack.url("/demo/restarts/"))
    page.wait_for_selector("#sse_stat .stat-text")
    wait_for_change(page, stat_html(page), 5)
    yield own_stack, page, feed
    feed.terminate()
    feed.wait(5)


def assert_page_is_current(stack: Stack, page: Any, feed: Any) -> None:
    feed.terminate()
    assert feed.wait(5) == 0
    time.sleep(1.0)
    assert page.inner_text("#sse_stat .stat-text") == stored_stat_text(stack, "restarts")


def test_page_recovers_by_itself_after_pushpin_restarts(live_page: tuple[Stack, Any, Any]) -> None:
    stack, page, feed = live_page
    stack.stop_pushpin()
    time.sleep(2)
    frozen = stat_html(page)
    stack.start_pushpin()
    took = wait_for_change(page, frozen, BACK_WITHIN + 5)
    print(f"page current {took:.2f} s after Pushpin was back")
    assert took <= BACK_WITHIN, f"current values only {took:.1f} s after Pushpin was back"
    assert_page_is_current(stack, page, feed)


def test_page_stays_current_through_a_django_restart(live_page: tuple[Stack, Any, Any]) -> None:
    stack, page, feed = live_page
    stack.stop_web()
    time.sleep(2)
    before = stat_html(page)
    stack.start_web()
    took = wait_for_change(page, before, BACK_WITHIN + 5)
    assert took <= BACK_WITHIN
    # a reload right after the restart renders from storage, then goes live again
    page.reload()
    page.wait_for_selector("#sse_stat .stat-text")
    wait_for_change(page, stat_html(page), BACK_WITHIN)
    assert_page_is_current(stack, page, feed)


def test_whole_state_events_heal_a_source_htmx_recreated_without_last_event_id(
    live_page: tuple[Stack, Any, Any],
) -> None:
    stack, page, feed = live_page
    # close the page's EventSource and report it failed: htmx's SSE extension then
    # builds a new one (no Last-Event-ID), missing what was published meanwhile
    old = page.evaluate_handle("document.querySelector('[sse-connect]')['htmx-internal-data'].sseEventSource")
    page.evaluate("""() => {
        const source = document.querySelector('[sse-connect]')['htmx-internal-data'].sseEventSource;
        source.close();
        source.onerror(new Event('error'));
    }""")
    time.sleep(1.5)  # three ticks published while the page had no source, or was reconnecting
    fresh = page.evaluate_handle("document.querySelector('[sse-connect]')['htmx-internal-data'].sseEventSource")
    assert page.evaluate("([a, b]) => a !== b", [old, fresh]), "htmx did not re-create the EventSource"
    assert page.evaluate("(s) => s.readyState", fresh) in (0, 1)
    wait_for_change(page, stat_html(page), BACK_WITHIN)
    assert_page_is_current(stack, page, feed)
    assert page.errors == []
