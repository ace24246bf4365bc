"""A wall of dashboards in one browser: eight tabs on one origin, through the shipped
nginx front (TLS, HTTP/2) and straight to Pushpin (HTTP/1.1, six connections per origin)."""

from __future__ import annotations

import random
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from dashboards_live.contract import make_event
from dashboards_live.publishing.delivery import publish
from tests.support.nginx import Front
from tests.support.stack import Stack

pytestmark = pytest.mark.browser

TABS = 8
LIVE = ".stream-state[data-stream=live]"
PROTOCOL = "performance.getEntriesByType('navigation')[0].nextHopProtocol"


@pytest.fixture(scope="module")
def front(stack: Stack, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Front]:
    f = Front(Path(tmp_path_factory.mktemp("nginx")), upstream=f"127.0.0.1:{stack.client_port}")
    try:
        yield f.start()
    finally:
        f.close()


def navigate(page: Any, url: str) -> None:
    """Start loading `url` in the tab without waiting for anything."""
    page.evaluate("url => { location.href = url }", url)


def shows(mark: str) -> str:
    return f"document.querySelector('#notes')?.innerText.includes({mark!r})"


def test_eight_tabs_on_one_origin_are_all_live_through_the_http2_front(
    on_stack: Stack, front: Front, browser: Any
) -> None:
    url = front.url("/demo/wall-h2/")
    context = browser.new_context(ignore_https_errors=True)
    try:
        tabs = [context.new_page() for _ in range(TABS)]
        for tab in tabs:
            navigate(tab, url)
        for tab in tabs:
            tab.wait_for_selector(LIVE, timeout=10_000)
        assert [tab.evaluate(PROTOCOL) for tab in tabs] == ["h2"] * TABS

        # published once all eight are open: every one of them shows it
        mark = f"wall-{random.randrange(10**9)}"
        publish([make_event("wall-h2", "notes", f"<p>{mark}</p>")])
        for tab in tabs:
            tab.wait_for_function(shows(mark), timeout=5_000)
    finally:
        context.close()


def test_the_same_tabs_straight_to_pushpin_stall_at_the_seventh(stack: Stack, browser: Any) -> None:
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    url = stack.url("/demo/wall-h1/")
    context = browser.new_context()
    try:
        tabs = [context.new_page() for _ in range(TABS)]
        for tab in tabs[:6]:
            navigate(tab, url)
        for tab in tabs[:6]:
            tab.wait_for_selector(LIVE, timeout=10_000)
        assert [tab.evaluate(PROTOCOL) for tab in tabs[:6]] == ["http/1.1"] * 6

        # six streams hold the six connections Chromium allows per origin over
        # HTTP/1.1: the seventh and eighth pages never even get their document
        for tab in tabs[6:]:
            navigate(tab, url)
        with pytest.raises(PlaywrightTimeout):
            tabs[6].wait_for_url(url, wait_until="commit", timeout=2_000)
        assert tabs[7].url == "about:blank"

        # and that is all it is: with one live tab closed, the waiting seventh loads and goes live
        tabs[7].close()
        tabs[0].close()
        tabs[6].wait_for_selector(LIVE, timeout=10_000)
    finally:
        context.close()
