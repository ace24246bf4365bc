"""Several Pushpin instances: every publish reaches the subscribers of each."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.sse import SSEClient
from tests.support.stack import Stack

pytestmark = pytest.mark.integration


@pytest.fixture
def second(own_stack: Stack, tmp_path: Path) -> Iterator[Stack]:
    """Another Pushpin with its own ports and the same key, in front of the same Django."""
    other = Stack(tmp_path / "second", sig_key=own_stack.sig_key)
    other.web_port, other.web = own_stack.web_port, own_stack.web
    other.start_pushpin()
    try:
        yield other
    finally:
        other.web = None  # the first stack owns it
        other.close()


def opened(client: SSEClient) -> bool:
    return bool(client.wait_for(lambda ev: any(e.event == "stream-open" for e in ev), 10))


def test_one_sendevent_reaches_clients_of_every_instance(own_stack: Stack, second: Stack) -> None:
    env = {"DASHBOARDS_PUBLISH_URLS": second.env["GRIP_URL"]}
    with SSEClient(own_stack.url("/events/multi/")) as a, SSEClient(second.url("/events/multi/")) as b:
        assert opened(a) and opened(b)
        result = own_stack.manage("sendevent", "multi", "note", "<p>both</p>", env=env)
        assert result.returncode == 0, result.stderr
        for client in (a, b):
            client.wait_for(lambda ev: any(e.event == "note" for e in ev), 10)
    assert [e.data for e in a.named("note")] == ["<p>both</p>"]
    assert [e.data for e in b.named("note")] == ["<p>both</p>"]
    assert a.named("note")[0].id == b.named("note")[0].id  # one stored event, one id everywhere


def test_an_instance_down_is_an_error_that_names_it_but_the_others_still_deliver(
    own_stack: Stack, second: Stack
) -> None:
    env = {"DASHBOARDS_PUBLISH_URLS": second.env["GRIP_URL"]}
    second.stop_pushpin()
    with SSEClient(own_stack.url("/events/multi2/")) as a:
        assert opened(a)
        result = own_stack.manage("sendevent", "multi2", "note", "<p>one of two</p>", env=env)
        a.wait_for(lambda ev: bool(a.named("note")), 10)
    assert result.returncode == 1
    assert f"127.0.0.1:{second.publish_port}" in result.stderr
    assert "1 of 2 Pushpin instances took it" in result.stderr
    assert "Traceback" not in result.stderr
    assert [e.data for e in a.named("note")] == ["<p>one of two</p>"]
    # kept in storage, since subscribers of the first instance have it: a page shows it
    rows = own_stack.sql("SELECT count(*) FROM django_eventstream_event WHERE channel = 'multi2' AND type = 'note'")
    assert rows == [(1,)]
