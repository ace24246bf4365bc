"""Retention on both databases: a trim keeps every component's newest event; replay goes on across it."""

from __future__ import annotations

import urllib.request

import pytest

from tests.support.sse import SSEClient
from tests.support.stack import Stack

pytestmark = pytest.mark.integration

AGE = {
    "sqlite": "UPDATE django_eventstream_event SET created = datetime('now', '-2 days') WHERE channel = ?",
    "postgres": "UPDATE django_eventstream_event SET created = now() - interval '2 days' WHERE channel = ?",
}


def test_a_trim_keeps_the_late_join_page_whole_and_replay_working(stack: Stack) -> None:
    channel = f"retention-{stack.database}"
    stack.publish(channel, "sse_chart", ["<svg>old chart</svg>"])
    stack.publish(channel, "sse_stat", [f"<b>stat {i}</b>" for i in range(5)])  # ids 2..6
    stack.sql(AGE[stack.database], (channel,))
    result = stack.manage("shell", "-c", "from dashboards_live.publishing.storage import trim; print(trim())")
    assert result.returncode == 0, result.stderr
    # stats 0..3 here; the chart's only event stays (other tests' channels on
    # the shared stack may hold aged events too: what is kept here is exact below)
    assert int(result.stdout.strip().splitlines()[-1]) >= 4
    kept = stack.sql(
        "SELECT type, eid FROM django_eventstream_event WHERE channel = ? AND eid > 0 ORDER BY eid", (channel,)
    )
    assert kept == [("sse_chart", 1), ("sse_stat", 6)]

    page = urllib.request.urlopen(stack.url(f"/demo/{channel}/"), timeout=10).read().decode()
    assert "<b>stat 4</b>" in page and "<svg>old chart</svg>" in page

    # a browser that last saw a trimmed id is told so (stream-reset) and goes on from now
    with SSEClient(stack.url(f"/events/{channel}/"), headers={"Last-Event-ID": f"{channel}:3"}) as client:
        assert client.wait_for(lambda ev: any(e.event == "stream-reset" for e in ev), 10)
        stack.publish(channel, "sse_stat", ["<b>after</b>"])
        got = client.wait_for(lambda ev: any(e.data == "<b>after</b>" for e in ev), 10)
    assert [e.data for e in got if e.event == "sse_stat"] == ["<b>after</b>"]

    # one that last saw a kept id (the chart's only event stays the newest of its kind) replays what came after it
    with SSEClient(stack.url(f"/events/{channel}/"), headers={"Last-Event-ID": f"{channel}:1"}) as client:
        got = client.wait_for(lambda ev: any(e.data == "<b>after</b>" for e in ev), 10)
    assert [e.data for e in got if e.event == "sse_stat"] == ["<b>stat 4</b>", "<b>after</b>"]
    assert not [e for e in got if e.event == "stream-reset"]
