"""No gap between a page and its stream: what is published after the page rendered arrives on its stream.

Real Pushpin and gunicorn: the page is fetched through Pushpin, a value is
published before the stream opens, and the stream the page names replays it.
"""

from __future__ import annotations

import html
import re
import urllib.request
import uuid

import pytest

from tests.support.sse import SSEClient
from tests.support.stack import Stack

pytestmark = pytest.mark.integration


def stream_url(stack: Stack, page: str) -> str:
    with urllib.request.urlopen(stack.url(page), timeout=10) as response:
        body = response.read().decode()
    found = re.search(r'sse-connect="([^"]+)"', body)
    assert found, body
    return html.unescape(found.group(1))


def test_a_value_published_between_render_and_connect_arrives(stack: Stack) -> None:
    # something stored already, as on any live channel
    stack.publish("demo", "memory", [f"<b>{uuid.uuid4().hex}</b>"])
    url = stream_url(stack, "/dashboards/demo/")
    assert "lastEventId=demo%3A" in url
    between = f"<b>between {uuid.uuid4().hex}</b>"
    stack.publish("demo", "memory", [between])
    client = SSEClient(stack.url(url))
    try:
        assert client.status == 200
        events = client.wait_for(lambda evs: any(e.data == between for e in evs), 5)
        assert [e.data for e in events if e.data == between] == [between], "exactly once"
    finally:
        client.close()
