"""Compacted replay through real Pushpin: a reconnect gets the newest event of each
whole-state component, logs in full within DASHBOARDS_REPLAY_MAX_EVENTS, in a few
requests to Django whatever the history stored."""

from __future__ import annotations

import uuid

import pytest

from dashboards_live.contract import Event
from dashboards_live.publishing.delivery import publish
from tests.support import pushpinlog
from tests.support.history import fill
from tests.support.sse import SSEClient, SSEEvent
from tests.support.stack import Stack

pytestmark = pytest.mark.integration

COMPONENTS = [f"k{i}" for i in range(5)]
QUIET = {"stream-open", "keep-alive"}
MAX_EVENTS = 100  # DASHBOARDS_REPLAY_MAX_EVENTS's default, which the stack runs with


def channel_for(test: str) -> str:
    return f"{test}-{uuid.uuid4().hex[:8]}"


def component_events(channel: str, count: int, start: int = 0) -> list[Event]:
    return [Event(channel, COMPONENTS[i % 5], f"<p>{i}</p>", whole_state=True) for i in range(start, start + count)]


def replay(stack: Stack, channel: str, last_id: str, expected: int) -> list[SSEEvent]:
    with SSEClient(stack.url(f"/events/{channel}/"), headers={"Last-Event-ID": last_id}) as client:
        assert client.status == 200
        client.wait_for(lambda evs: len([e for e in evs if e.event not in QUIET]) >= expected, 10)
        # anything more would come right behind: the next event published live marks the end
        [live] = publish([Event(channel, "end", "live", whole_state=True)])
        client.wait_for(lambda evs: any(e.event == "end" for e in evs), 10)
        got = [e for e in client.events if e.event not in QUIET]
    assert got[-1].event == "end" and got[-1].id == f"{channel}:{live.id}", "the stream goes on live after the replay"
    return got[:-1]


def ids(events: list[SSEEvent]) -> list[int]:
    return [int(str(e.id).rpartition(":")[2]) for e in events]


def test_a_client_500_events_behind_on_5_components_is_replayed_5_events(on_stack: Stack) -> None:
    channel = channel_for("behind")
    [*_, seen] = publish(component_events(channel, 5))
    newest = publish(component_events(channel, 500, start=5))
    got = replay(on_stack, channel, f"{channel}:{seen.id}", 5)
    assert [(e.event, e.data) for e in got] == [(p.event.name, p.event.data) for p in newest[-5:]]
    assert ids(got) == [p.id for p in newest[-5:]], "original ids, in order: Last-Event-ID ends on the newest"


def test_a_client_from_id_0_of_100000_stored_events_gets_one_per_component_in_a_few_requests(on_stack: Stack) -> None:
    channel = channel_for("history")
    fill(on_stack, channel, 100_000, whole_state=False)
    # the components publish as usual, which is also how storage learns they are whole state
    newest = publish(component_events(channel, 5, start=100_000))
    got = replay(on_stack, channel, f"{channel}:0", 5)
    assert [(e.event, e.data) for e in got] == [(p.event.name, p.event.data) for p in newest]
    assert ids(got) == list(range(100_001, 100_006))
    # Django answered the client's connect, and Pushpin followed no next link (stock: ~1,000 of them)
    log = on_stack.base / "pushpin.log"
    connects = [line for line in log.read_bytes().splitlines() if b"[proxy] GET" in line and channel.encode() in line]
    assert len(connects) == 1
    assert pushpinlog.read([log], f"/events/{channel}/").requests == 0


def test_logs_replay_in_full_in_order_within_the_bound(on_stack: Stack) -> None:
    channel = channel_for("logs")
    publish(component_events(channel, 1))
    mixed = [
        # a declared log, a name no component declared (send_event's), a component
        Event(channel, "lines", f"line {i}", whole_state=False)
        if i % 3 == 0
        else Event(channel, "raw", f"raw {i}")
        if i % 3 == 1
        else Event(channel, "k1", f"<p>{i}</p>", whole_state=True)
        for i in range(180)
    ]
    published = publish(mixed)
    got = replay(on_stack, channel, f"{channel}:1", MAX_EVENTS + 1)
    logs = [p for p in published if p.event.name != "k1"][-MAX_EVENTS:]
    component = [p for p in published if p.event.name == "k1"][-1]
    expected = sorted([*logs, component], key=lambda p: p.id or 0)
    assert [(e.event, e.data) for e in got] == [(p.event.name, p.event.data) for p in expected]
    assert ids(got) == sorted(ids(got)) and ids(got)[-1] == published[-1].id
