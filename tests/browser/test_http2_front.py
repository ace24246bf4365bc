"""A wall of dashboards in one browser: eight tabs on one origin, through the shipped
nginx front (TLS, HTTP/2) and straight to Pushpin (HTTP/1.1, six connections per origin)."""

from __future__ import annotations

import http.client
import random
import socket
import ssl
import threading
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
# Pushpin as docs/deployment.md sets it up behind the front
BEHIND_THE_FRONT = {
    ("proxy", "accept_x_forwarded_protocol"): "true",
    ("proxy", "x_forwarded_for"): "truncate:1,append",
}


@pytest.fixture(scope="module")
def behind(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Stack, Front]]:
    """A stack served over HTTPS only (DJANGO_HTTPS=1), and the front before its Pushpin."""
    base = Path(tmp_path_factory.mktemp("front"))
    s = Stack(base / "stack", pushpin_overrides=BEHIND_THE_FRONT)
    s.env["DJANGO_HTTPS"] = "1"
    f = Front(base / "nginx", upstream=f"127.0.0.1:{s.client_port}")
    try:
        s.start()
        yield s, f.start()
    finally:
        f.close()
        s.close()


def navigate(page: Any, url: str) -> None:
    """Start loading `url` in the tab without waiting for anything."""
    page.evaluate("url => { location.href = url }", url)


def shows(mark: str) -> str:
    return f"document.querySelector('#notes')?.innerText.includes({mark!r})"


def test_eight_tabs_on_one_origin_are_all_live_through_the_http2_front(
    behind: tuple[Stack, Front], browser: Any, django_db_blocker: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    stack, front = behind
    url = front.url("/demo/wall-h2/")
    context = browser.new_context(ignore_https_errors=True)
    try:
        tabs = [context.new_page() for _ in range(TABS)]
        for tab in tabs:
            navigate(tab, url)
        for tab in tabs:
            tab.wait_for_selector(LIVE, timeout=10_000)
        # served as it was asked for: no redirect, over one HTTP/2 connection
        assert [tab.url for tab in tabs] == [url] * TABS
        assert [tab.evaluate(PROTOCOL) for tab in tabs] == ["h2"] * TABS

        # published once all eight are open: every one of them shows it
        mark = f"wall-{random.randrange(10**9)}"
        # Playwright's sync API leaves an event loop in this thread (see on_stack)
        monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
        with django_db_blocker.unblock(), stack.in_process():
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


def test_plain_http_to_the_front_is_sent_to_https(behind: tuple[Stack, Front]) -> None:
    _, front = behind
    conn = http.client.HTTPConnection("127.0.0.1", front.http_port, timeout=5)
    try:
        conn.request("GET", "/dashboards/demo/?from=wall")
        response = conn.getresponse()
        assert response.status == 301
        assert response.getheader("Location") == "https://127.0.0.1/dashboards/demo/?from=wall"
    finally:
        conn.close()


def test_the_front_tells_pushpin_the_scheme_and_the_address_it_saw(tmp_path: Path) -> None:
    # a stand-in for Pushpin that keeps the request head nginx sends it
    heads: list[bytes] = []
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(10)

    def answer() -> None:
        conn, _ = listener.accept()
        with conn:
            head = b""
            while b"\r\n\r\n" not in head:
                chunk = conn.recv(4096)
                if not chunk:
                    break
                head += chunk
            heads.append(head)
            conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")

    thread = threading.Thread(target=answer, daemon=True)
    thread.start()
    front = Front(tmp_path, upstream=f"127.0.0.1:{listener.getsockname()[1]}").start()
    try:
        # a client on another loopback address that claims to be someone else, over plain HTTP
        conn = http.client.HTTPSConnection(
            "127.0.0.1",
            front.https_port,
            context=ssl.create_default_context(cafile=front.cert),
            source_address=("127.0.0.2", 0),
            timeout=10,
        )
        conn.request("GET", "/dashboards/", headers={"X-Forwarded-For": "198.51.100.4", "X-Forwarded-Proto": "http"})
        assert conn.getresponse().read() == b"ok"
        conn.close()
    finally:
        front.close()
        listener.close()
        thread.join(5)
    lines = heads[0].decode().split("\r\n")
    assert lines[0] == "GET /dashboards/ HTTP/1.1"
    headers = {name.lower(): value for name, _, value in (line.partition(": ") for line in lines[1:] if line)}
    assert headers["x-forwarded-for"] == "127.0.0.2"
    assert headers["x-forwarded-proto"] == "https"
    assert headers["host"] == f"127.0.0.1:{front.https_port}"
    assert "close" not in headers.get("connection", "")
