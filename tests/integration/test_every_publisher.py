"""Every publisher into one channel, end to end: real Pushpin, gunicorn and SSE clients.

django-eventstream's own send_event (as its docs and django-dashboards' "Server
sent events" page publish: json_encode=False, or JSON, or with skip_user_ids),
sendevent, push() and the delivery engine, in any mix: every open stream gets
every event once, in id order, and stays open; a reconnect replays them compacted.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest

from tests.support.sse import SSEClient
from tests.support.stack import Stack

pytestmark = pytest.mark.integration

CHANNEL = "demo"  # push() publishes on the component's channel: the demo's
QUIET = {"keep-alive", "stream-open"}
PUBLISHERS = ("send_event_html", "send_event_json", "send_event_skip", "engine", "push")
ROUNDS = 6

PUBLISH = """
import json, sys
from django_eventstream import send_event
from dashboards_live import push
from dashboards_live.contract import make_event
from dashboards_live.declaring.demo import Demo
from dashboards_live.publishing.delivery import publish

for how, marker in json.loads(sys.stdin.read()):
    html = f"<b>{marker}</b> 100%"
    if how == "send_event_html":
        # the seed's snippet: a rendered fragment, published unencoded
        send_event("demo", "sse_stat", html, json_encode=False, async_publish=False)
    elif how == "send_event_json":
        # a name of this run's own: the demo's Text "notes" is whole state once any test fed it
        send_event("demo", "log_" + marker.partition("-")[0], {"text": marker}, async_publish=False)
    elif how == "send_event_skip":
        send_event("demo", "sse_stat", html, json_encode=False, skip_user_ids=["1"], async_publish=False)
    elif how == "engine":
        publish([make_event("demo", "memory", html)])
    else:
        push(Demo.sse_stat, {"text": marker})
"""


def listen(stack: Stack, headers: dict[str, str] | None = None) -> SSEClient:
    client = SSEClient(stack.url(f"/events/{CHANNEL}/"), headers=headers)
    assert client.status == 200, getattr(client, "body", b"")
    assert client.wait_for(lambda evs: any(e.event == "stream-open" for e in evs), 5)
    return client


def marked(client: SSEClient, markers: list[str]) -> list[tuple[str, str | None, str]]:
    """(marker, id, data) of each of our events the client got, in arrival order."""
    out = []
    for event in client.events:
        if event.event in QUIET:
            continue
        found = [m for m in markers if m in event.data]
        if found:
            out.append((found[0], event.id, event.data))
    return out


def test_every_publisher_reaches_every_stream_in_order_and_no_stream_stops(stack: Stack) -> None:
    run = uuid.uuid4().hex[:8]
    plan = [(how, f"m{run}-{i}-{how}") for i in range(ROUNDS) for how in PUBLISHERS]
    markers = [marker for _, marker in plan]
    clients = [listen(stack) for _ in range(3)]
    try:
        result = stack.manage("shell", "-c", PUBLISH, input=json.dumps(plan).encode(), timeout=120)
        assert result.returncode == 0, result.stderr
        for client in clients:
            client.wait_for(lambda evs: len(marked_from(evs, markers)) >= len(markers), 10)
            got = marked(client, markers)
            assert [m for m, _, _ in got] == markers, "every event once, in publish order"
            ids = [int(str(i).rpartition(":")[2]) for _, i, _ in got]
            assert ids == sorted(ids) and len(set(ids)) == len(ids), f"ids in order: {ids}"
            # unencoded html arrives as sent (a "%" included), JSON as JSON
            for marker, _, data in got:
                if marker.endswith(("send_event_html", "send_event_skip", "engine")):
                    assert data == f"<b>{marker}</b> 100%"
                elif marker.endswith("send_event_json"):
                    assert json.loads(data) == {"text": marker}
            assert not client.closed.is_set(), "no publish may stop a stream"

        # the streams still take events after all of that
        last = f"m{run}-after"
        assert stack.manage("sendevent", CHANNEL, "memory", last).returncode == 0
        for client in clients:
            client.wait_for(lambda evs: any(e.data == last for e in evs), 5)
            assert any(e.data == last for e in client.events)

        # a reconnect from the first event replays the rest in order, compacted: of
        # sse_stat, which push() declares whole state, only the newest (the last
        # push); log_<run>, a name no component declares, in full
        first_id = marked(clients[0], markers)[0][1]
        assert first_id is not None
        again = listen(stack, headers={"Last-Event-ID": first_id})
        try:
            again.wait_for(lambda evs: markers[-1] in marked_from(evs, markers), 10)
            names = [m for m, _, _ in marked(again, markers)]
            assert names == [m for m in markers[1:] if m in names], "in publish order, none twice"
            assert markers[-1] in names and not [m for m in names if m.endswith(("send_event_html", "send_event_skip"))]
            assert [m for m in names if m.endswith("send_event_json")] == [
                m for m in markers[1:] if m.endswith("send_event_json")
            ]
        finally:
            again.close()
    finally:
        for client in clients:
            client.close()


def marked_from(events: list[Any], markers: list[str]) -> list[str]:
    return [m for e in events if e.event not in QUIET for m in markers if m in e.data]
