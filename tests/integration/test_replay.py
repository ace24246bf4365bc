"""Reliable (stored) channels: what a client missed is replayed by id."""

from __future__ import annotations

import pytest

from tests.conftest import DATABASES
from tests.support.sse import SSEClient
from tests.support.stack import Stack

pytestmark = pytest.mark.integration


def opened(client: SSEClient) -> bool:
    return bool(client.wait_for(lambda ev: any(e.event == "stream-open" for e in ev), 10))


@pytest.mark.parametrize("own_stack", DATABASES, indirect=True)  # replay reads what each database stored
def test_reconnect_with_last_event_id_after_django_was_down_gets_every_missed_event(own_stack: Stack) -> None:
    s = own_stack
    with SSEClient(s.url("/events/rel/")) as client:
        assert opened(client)
        s.publish("rel", "tick", ["a1", "a2", "a3"])
        client.wait_for(lambda ev: len(client.named("tick")) >= 3, 10)
        seen = client.named("tick")
    assert [e.data for e in seen] == ["a1", "a2", "a3"]
    last_id = seen[-1].id
    assert last_id is not None

    s.stop_web()
    s.publish("rel", "tick", [f"b{i}" for i in range(1, 6)])  # nobody hears these live
    s.start_web()

    with SSEClient(s.url("/events/rel/"), headers={"Last-Event-ID": last_id}) as client:
        client.wait_for(lambda ev: len(client.named("tick")) >= 5, 10)
        s.publish("rel", "tick", ["c1"])
        client.wait_for(lambda ev: len(client.named("tick")) >= 6, 10)
        replayed = client.named("tick")
    assert [e.data for e in replayed] == ["b1", "b2", "b3", "b4", "b5", "c1"]
    ids = [int(e.id.split(":")[1]) for e in replayed if e.id]
    assert ids == sorted(set(ids)) and len(ids) == 6  # in order, no duplicates
    assert ids[0] == int(last_id.split(":")[1]) + 1


def test_last_event_id_older_than_storage_gets_stream_reset_and_the_client_recovers(stack: Stack) -> None:
    stack.publish("trimmed", "tick", ["old1", "old2", "old3"])
    # what trimming old events does: the referenced event is gone from storage
    stack.sql("DELETE FROM django_eventstream_event WHERE channel = 'trimmed' AND eid <= 2")
    with SSEClient(stack.url("/events/trimmed/"), headers={"Last-Event-ID": "trimmed:1"}) as client:
        client.wait_for(lambda ev: any(e.event == "stream-reset" for e in ev), 10)
        assert client.named("stream-reset"), client.events
        reset = client.named("stream-reset")[0]
        assert reset.id == "trimmed:3"  # the current id: the client resumes from here
        stack.publish("trimmed", "tick", ["new1"])
        client.wait_for(lambda ev: len(client.named("tick")) >= 1, 10)
        ticks = client.named("tick")
    assert [e.data for e in ticks] == ["new1"]  # nothing stale, and live again
    assert ticks[0].id == "trimmed:4"


def test_a_replayed_event_arrives_byte_for_byte_like_a_live_one(stack: Stack) -> None:
    """Live frames carry their own id (no build-id filter); replayed ones must not keep its escaping."""
    data = "100% %I %% done"
    with SSEClient(stack.url("/events/percent/")) as live:
        live.wait_for(lambda ev: any(e.event == "stream-open" for e in ev), 10)
        stack.publish("percent", "e", ["first", data])
        got = live.wait_for(lambda ev: len([e for e in ev if e.event == "e"]) >= 2, 10)
    live_frame = [e for e in got if e.event == "e"][-1]
    first_id = next(e for e in got if e.event == "e").id
    with SSEClient(stack.url("/events/percent/"), headers={"Last-Event-ID": str(first_id)}) as late:
        replayed = late.wait_for(lambda ev: any(e.event == "e" for e in ev), 10)
    [again] = [e for e in replayed if e.event == "e"]
    assert live_frame.data == again.data == data
    assert live_frame.id == again.id and again.raw == live_frame.raw
