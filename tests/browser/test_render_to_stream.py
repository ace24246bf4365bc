"""No gap between a page and its stream, in Chromium through real Pushpin, with either htmx line.

The stream's request is held back after the page rendered; a value published
meanwhile must show within a second of the stream opening: the page names the
last id it rendered (web/pages.events_url), and the stream replays from there.
"""

from __future__ import annotations

import time
import uuid
from typing import Any

import pytest

from dashboards_live.contract import make_event
from dashboards_live.publishing.delivery import publish
from tests.support.stack import Stack

pytestmark = pytest.mark.browser

EVENTS = "**/events/**"


def stat(text: str) -> str:
    return f'<div class="stat"><div class="stat-text">{text}</div></div>'


def shows(text: str) -> str:
    return f"document.querySelector('#sse_stat .stat-text')?.textContent === {text!r}"


@pytest.mark.parametrize("stored", [True, False], ids=["after-a-stored-value", "on-an-empty-channel"])
def test_a_value_published_between_render_and_stream_open_shows_within_a_second(
    line: tuple[str, Stack], stored: bool, page: Any, django_db_blocker: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    version, stack = line
    channel = f"gap-{uuid.uuid4().hex[:12]}"  # /demo/<channel>/: the demo's components on a channel of our own
    # Playwright's sync API leaves an event loop in this thread (see on_stack)
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

    def send(text: str) -> None:
        with django_db_blocker.unblock(), stack.in_process():
            publish([make_event(channel, "sse_stat", stat(text))])

    if stored:
        send("before")  # the page renders it from storage
    held: list[Any] = []
    page.route(EVENTS, lambda route: held.append(route))
    page.goto(stack.url(f"/demo/{channel}/"))
    assert page.evaluate("htmx.version").startswith(version + ".")
    assert page.evaluate(shows("before")) is stored
    deadline = time.monotonic() + 10
    while not held and time.monotonic() < deadline:
        page.wait_for_timeout(20)  # Playwright calls the route handler while it waits
    assert held, "the page did not open its stream"

    send("between")  # after the render, before the stream opened
    assert not page.evaluate(shows("between"))
    held[0].continue_()
    page.unroute(EVENTS)
    # the acceptance bound: within a second of the stream opening
    page.wait_for_function(shows("between"), timeout=1_000)
    page.wait_for_selector("#stream-state[data-stream=live]", timeout=5_000)
    assert page.errors == []
