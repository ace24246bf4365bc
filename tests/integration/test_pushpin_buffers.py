"""Pushpin's per-connection buffers (client_buffer_size in pushpin.conf) are
sized for memory at 50,000 viewers: what they must still carry."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.support.sse import SSEClient
from tests.support.stack import Stack

pytestmark = pytest.mark.integration

CONF = Path(__file__).resolve().parents[2] / "pushpin" / "pushpin.conf"


def buffer_size() -> int:
    match = re.search(r"^client_buffer_size=(\d+)$", CONF.read_text(), re.M)
    assert match, "pushpin.conf sets client_buffer_size"
    return int(match.group(1))


def test_a_browser_with_big_cookies_still_connects(stack: Stack) -> None:
    # a request as a browser on a busy site sends it: headers up to 3/4 of the buffer
    cookies = "; ".join(f"c{i}={'v' * 90}" for i in range(buffer_size() * 3 // 4 // 100))
    with SSEClient(stack.url("/events/buffers-cookies/"), headers={"Cookie": cookies}) as client:
        assert client.wait_for(lambda ev: any(e.event == "stream-open" for e in ev), 10)


def test_an_event_several_buffers_long_arrives_whole(stack: Stack) -> None:
    big = "y" * (buffer_size() * 5)
    with SSEClient(stack.url("/events/buffers-big/")) as client:
        assert client.wait_for(lambda ev: any(e.event == "stream-open" for e in ev), 10)
        stack.publish("buffers-big", "big", [f"a;{big}", "b;small"])
        client.wait_for(lambda ev: sum(e.event == "big" for e in ev) >= 2, 10)
        assert [e.data for e in client.named("big")] == [f"a;{big}", "b;small"]
