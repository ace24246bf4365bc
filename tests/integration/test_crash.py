"""The loop killed between storing and posting: listeners get the stored event once, with no herd to Django."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from tests.support import pushpinlog
from tests.support.pushpinlog import HandlerRequests
from tests.support.sse import SSEClient, SSEEvent
from tests.support.stack import Stack

pytestmark = pytest.mark.integration

FEEDS = {"DASHBOARDS_FEED_MODULES": "tests.support.crash_after_store"}
CLIENTS = 3


def ids(events: list[SSEEvent]) -> list[int]:
    return [int(e.id.split(":")[1]) for e in events if e.event == "n" and e.id]


def answered(log: Path, channel: str, streams: int, timeout: float) -> HandlerRequests:
    """Pushpin's own requests for the channel once `streams` streams got an answer, or at the deadline.

    Pushpin writes its log on its own schedule, so the lines can come a moment
    after the events they are about have reached the clients.
    """
    deadline = time.monotonic() + timeout
    while (seen := pushpinlog.read([log], f"/events/{channel}/")).streams < streams and time.monotonic() < deadline:
        time.sleep(0.05)
    return seen


def test_a_loop_killed_after_storing_and_before_posting(stack: Stack) -> None:
    channel = "crashtest"
    base = stack.sql("SELECT COALESCE(MAX(eid), 0) FROM django_eventstream_event WHERE channel = ?", (channel,))
    first = int(str(base[0][0])) + 1  # the shared stack may have run this test's channel before (other database param)
    log = stack.base / "pushpin.log"
    already = pushpinlog.read([log], f"/events/{channel}/")
    clients = [SSEClient(stack.url(f"/events/{channel}/")) for _ in range(CLIENTS)]
    try:
        for c in clients:
            assert c.wait_for(lambda ev: any(e.event == "stream-open" for e in ev), 10)
        # About a second after Pushpin subscribes to a channel it re-requests the
        # new streams, to catch what was published in between. Left to land while
        # the loop runs, that refresh hands the orphan out before any restart and
        # the test is no longer about the crash, so it is let through first.
        before = answered(log, channel, already.streams + CLIENTS, 10)
        assert before.streams == already.streams + CLIENTS, f"Pushpin refreshed {before} after {already}"

        crashed = stack.manage("runeventloop", "t_crash", env={**FEEDS, "CRASH_AFTER_STORES": "3"}, timeout=60)
        assert crashed.returncode == -9, crashed.stderr
        stored = stack.sql("SELECT eid FROM django_eventstream_event WHERE channel = ? AND eid >= ?", (channel, first))
        assert [int(str(r[0])) for r in stored] == [first, first + 1, first + 2]  # the third was stored, never posted
        for c in clients:
            assert c.wait_for(lambda ev: len(ids(ev)) >= 2, 10)
            assert ids(c.events) == [first, first + 1]

        again = stack.manage("runeventloop", "t_crash", "--iterations", "3", env=FEEDS, timeout=60)
        assert again.returncode == 0, again.stderr
        want = list(range(first, first + 6))
        for c in clients:
            c.wait_for(lambda ev: len(ids(ev)) >= 6, 15)
            # the orphan arrives once, in its place, then the new loop's events
            assert ids(c.events) == want, ids(c.events)
        after = answered(log, channel, before.streams + CLIENTS, 10)
    finally:
        for c in clients:
            c.close()
    caught = after - before
    print(f"{stack.database}: {caught.requests} requests to Django caught up {caught.streams} streams")
    # The new loop's first event names a previous id Pushpin never delivered, so
    # Pushpin asks Django for what the streams missed: one request serves them all
    # in most runs; never more than one per listener
    assert caught.streams >= CLIENTS, caught
    assert 1 <= caught.requests <= CLIENTS, caught
