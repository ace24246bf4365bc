"""The pages with either htmx line django-htmx ships (DASHBOARDS_HTMX "2" or "4"): the same bytes on
the wire, every component updating, stale marks, a refused connect retried without a reload, the
indicator across a Pushpin restart and the poll fallback (htmx 2's are in test_dashboards.py)."""

from __future__ import annotations

import time
from typing import Any

import pytest

from tests.support.stack import Stack

pytestmark = pytest.mark.browser

# the seed's snippet: a rendered Stat sent with django-eventstream's own call (synchronously:
# a short-lived process would lose what its background thread had not sent), then push()
SEED_THEN_PUSH = (
    "from django_eventstream import send_event\n"
    "from dashboards_live import push\n"
    "from dashboards_live.declaring.demo import Demo\n"
    "html = Demo.sse_stat.render(Demo.sse_stat.next_state(None, {'text': 'seed 7', 'value': 7}))\n"
    "send_event('demo', 'sse_stat', html, json_encode=False, async_publish=False)\n"
    "push(Demo.sse_stat, {'text': 'pushed 8'})\n"
)
PUSH_BACKLOG = (
    "import sys\n"
    "from dashboards_live import push\n"
    "from tests.support.dashapp.dashboards import Ops\n"
    "push(Ops.backlog, sys.stdin.read())\n"
)
# the texts #sse_stat showed, in order
WATCH_STAT = """() => {
    window.__stat = [document.querySelector('#sse_stat .stat-text')?.textContent];
    new MutationObserver(() => {
        const text = document.querySelector('#sse_stat .stat-text')?.textContent;
        if (text && text !== window.__stat.at(-1)) window.__stat.push(text);
    }).observe(document.querySelector('#sse_stat'), {childList: true, subtree: true, characterData: true});
}"""

HIDE = """() => {
    Object.defineProperty(document, 'hidden', {get: () => HIDDEN, configurable: true});
    document.dispatchEvent(new Event('visibilitychange'));
}"""


def slots(page: Any) -> dict[str, str]:
    return dict(page.eval_on_selector_all("[sse-swap]", "els => els.map(e => [e.id, e.innerHTML])"))


def value_of(page: Any, slot: str) -> str:
    """What a slot shows, but its stale mark (which counts the seconds)."""
    return str(
        page.eval_on_selector(
            slot, "e => [...e.children].filter(c => !c.matches('.stale-mark')).map(c => c.outerHTML).join('')"
        )
    )


def open_page(page: Any, stack: Stack, version: str, path: str) -> None:
    page.goto(stack.url(path))
    assert page.evaluate("htmx.version").startswith(version + ".")
    page.wait_for_selector("#stream-state[data-stream=live]", timeout=20_000)


def test_every_demo_component_updates_goes_stale_when_its_feed_stops_and_takes_send_event(
    line: tuple[str, Stack], page: Any
) -> None:
    version, stack = line
    feed = stack.spawn("demo_feed", "--interval", "0.5", "--channel", "demo", "--seed", "3")
    try:
        open_page(page, stack, version, "/demo/demo/")
        first = slots(page)
        assert len(first) == 7
        # every component changes at least twice (a value can repeat once by chance)
        page.wait_for_function(
            """(first) => {
                window.__changes = window.__changes || {};
                for (const el of document.querySelectorAll('[sse-swap]')) {
                    const seen = window.__changes[el.id] = window.__changes[el.id] || new Set([first[el.id]]);
                    seen.add(el.innerHTML.replace(/<p class="stale-mark".*<\\/p>$/, ''));
                }
                return Object.keys(first).every(id => window.__changes[id].size >= 3);
            }""",
            arg=first,
            timeout=15_000,
        )
        assert page.query_selector("[data-stale]") is None
        # the stale mark's clock: when each slot got it, against when its last value came
        page.evaluate("""() => {
            window.__staleAt = {};
            new MutationObserver(records => records.forEach(r => {
                if (r.target.hasAttribute('data-stale')) window.__staleAt[r.target.id] = Date.now();
            })).observe(document.body, {attributes: true, attributeFilter: ['data-stale'], subtree: true});
        }""")
    finally:
        feed.terminate()
        assert feed.wait(5) == 0

    # the demo feeds run every 1 s: marked stale within twice that of the last value
    page.wait_for_function("Object.keys(window.__staleAt).length === 7", timeout=5_000)
    late = page.evaluate(
        "() => [...document.querySelectorAll('[sse-swap]')].map(e => [e.id, window.__staleAt[e.id] - e._liveSeen])"
    )
    assert all(0 < took <= 2000 for _, took in late), late
    assert "Stale" in page.inner_text("#sse_stat .stale-mark")
    assert "stale" in page.inner_text(".visually-hidden[role=status]")

    # the seed's snippet (django-eventstream's send_event, unencoded HTML) updates the page and
    # clears that component's mark; the next push() still arrives
    page.evaluate(WATCH_STAT)
    result = stack.manage("shell", "-c", SEED_THEN_PUSH)
    assert result.returncode == 0, result.stderr
    page.wait_for_function("window.__stat.includes('pushed 8')", timeout=5_000)
    shown = page.evaluate("window.__stat")
    assert shown[1:] == ["seed 7", "pushed 8"] and shown[0] not in shown[1:], shown
    assert page.query_selector("#sse_stat[data-stale]") is None
    assert page.query_selector("#sse_chart[data-stale]") is not None
    assert page.errors == []


def push_backlog(stack: Stack, value: str) -> None:
    result = stack.manage("shell", "-c", PUSH_BACKLOG, input=value.encode())
    assert result.returncode == 0, result.stderr


def bad_gateway(route: Any) -> None:
    route.fulfill(status=502, content_type="text/plain", body="502 Bad Gateway\n")


def late(route: Any) -> None:
    response = route.fetch()
    time.sleep(0.3)
    route.fulfill(response=response)


def test_htmx_2_stream_recovers_from_a_502_without_a_reload(stack: Stack, page: Any) -> None:
    refused: list[str] = []

    def twice(route: Any) -> None:
        if len(refused) < 2:
            refused.append(route.request.url)
            bad_gateway(route)
        else:
            route.continue_()

    page.route("**/events/**", twice)
    page.goto(stack.url("/demo/lines502/"))
    assert page.evaluate("htmx.version").startswith("2.")
    page.evaluate("window.__same_page = true")
    page.wait_for_selector("#stream-state[data-stream=reconnecting]", timeout=10_000)
    page.wait_for_selector("#stream-state[data-stream=live]", timeout=20_000)
    assert len(refused) == 2
    stack.publish("lines502", "sse_stat", ['<div class="stat"><div class="stat-text">after 502</div></div>'])
    page.wait_for_function("document.querySelector('#sse_stat .stat-text')?.textContent === 'after 502'", timeout=5_000)
    assert page.evaluate("window.__same_page") is True
    assert page.errors == []


def test_htmx_4_polls_while_refused_then_recovers_and_follows_a_pushpin_restart(htmx4_stack: Stack, page: Any) -> None:
    stack = htmx4_stack
    # the SSE extension's script comes late (deferred scripts load in parallel): htmx 4 starts
    # without it, and live.js connects the stream itself
    page.route("**/hx-sse-4*.js", late)
    # every connect answered 502: the indicator says so, poll_rate components poll
    page.route("**/events/**", bad_gateway)
    page.goto(stack.url("/dashboards/ops/"))
    assert page.evaluate("htmx.version").startswith("4.")
    page.evaluate("window.__same_page = true")
    page.wait_for_selector("#stream-state[data-stream=reconnecting]", timeout=10_000)
    assert page.inner_text("#stream-state .stream-label") == "Reconnecting…"
    before_queue = value_of(page, "#queue")
    push_backlog(stack, "7")
    page.wait_for_function("document.querySelector('#backlog .stat-text')?.textContent === '7'", timeout=5_000)
    # only poll_rate components poll: the others wait for the stream
    assert value_of(page, "#queue") == before_queue
    # no 502 any more: the page connects by itself (it retries with backoff), no reload
    page.unroute("**/events/**")
    page.wait_for_selector("#stream-state[data-stream=live]", timeout=20_000)
    assert page.evaluate("window.__same_page") is True
    # across a Pushpin restart: reconnecting, then live, then values again
    stack.stop_pushpin()
    try:
        page.wait_for_selector("#stream-state[data-stream=reconnecting]", timeout=10_000)
    finally:
        stack.start_pushpin()
    page.wait_for_selector("#stream-state[data-stream=live]", timeout=30_000)
    push_backlog(stack, "back")
    page.wait_for_function("document.querySelector('#backlog .stat-text')?.textContent === 'back'", timeout=5_000)
    # a tab sent to the background pauses its stream; back in front, it reconnects with
    # Last-Event-ID (the id of "back") and the replay brings what it missed
    resumed: list[str | None] = []

    def connects(request: Any) -> None:
        if "/events/" in request.url:
            resumed.append(request.headers.get("last-event-id"))

    page.on("request", connects)
    page.evaluate(HIDE.replace("HIDDEN", "true"))
    push_backlog(stack, "while hidden")
    page.evaluate(HIDE.replace("HIDDEN", "false"))
    page.wait_for_function(
        "document.querySelector('#backlog .stat-text')?.textContent === 'while hidden'", timeout=5_000
    )
    assert resumed and all(header and header.startswith("ops:") for header in resumed), resumed
    assert page.evaluate("window.__same_page") is True
    assert page.errors == []
