"""The database going away: at start (one line, exit 1) and under a running loop (it waits, then catches up)."""

from __future__ import annotations

import datetime
import re
import signal
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.postgres import Cluster, start_cluster
from tests.support.sse import SSEClient, SSEEvent
from tests.support.stack import Stack, free_port

pytestmark = pytest.mark.integration

FEEDS = {"DASHBOARDS_FEED_MODULES": "tests.support.feeds_for_tests"}


def stamps(events: list[SSEEvent]) -> list[tuple[float, float]]:
    """(tick's CLOCK_MONOTONIC stamp, arrival) of every t_slow event."""
    out = []
    for e in events:
        m = re.search(r"t_slow at (\d+\.\d+)", e.data)
        if e.event == "slow" and m:
            out.append((float(m.group(1)), e.received_at))
    return out


def test_an_unreachable_database_at_start_is_one_line_and_exit_1(tmp_path: Path) -> None:
    s = Stack(tmp_path / "stack")
    nowhere = {"DATABASE_URL": f"postgres://nobody@127.0.0.1:{free_port()}/none", **FEEDS}
    try:
        loop = s.manage("runeventloop", "t_slow", "--once", env=nowhere)
        send = s.manage("sendevent", "demo", "notice", "hi", env=nowhere)
    finally:
        s.close()
    for result in (loop, send):
        assert result.returncode == 1, result.stderr
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1 and "Traceback" not in result.stderr, result.stderr
    assert "the database is unreachable" in loop.stderr
    assert "could not store the event(s) in the database" in send.stderr


@pytest.fixture
def own_cluster() -> Iterator[Cluster]:
    """A cluster of this test's own: stopping it must not touch the session's."""
    cluster = start_cluster()
    try:
        yield cluster
    finally:
        cluster.close()


def test_the_loop_rides_out_a_database_outage_and_publishes_the_latest_state_once_it_is_back(
    tmp_path: Path, own_cluster: Cluster
) -> None:
    s = Stack(tmp_path / "stack", database="postgres", cluster=own_cluster)
    try:
        s.start()
        with SSEClient(s.url("/events/looptest/")) as client:
            loop = s.spawn("runeventloop", "t_slow", "--status-every", "0", env=FEEDS)
            assert client.wait_for(lambda ev: len(stamps(ev)) >= 2, 15)

            own_cluster.stop()
            stopped = time.monotonic()
            time.sleep(0.5)
            # meanwhile the one-off publishers fail at once, with a clear line, and keep nothing
            send = s.manage("sendevent", "looptest", "notice", "hi", timeout=30)
            assert send.returncode == 1 and "could not store the event(s) in the database" in send.stderr
            push = s.manage(
                "shell",
                "-c",
                "from dashboards_live import PublishError, push\nfrom dashboards_live.declaring.demo import Demo\n"
                "try:\n    push(Demo.queue, 1)\nexcept PublishError as exc:\n    print('refused:', exc)\n",
            )
            assert "refused: could not store the event(s) in the database" in push.stdout, push.stderr
            time.sleep(2.0)
            assert loop.poll() is None, "the loop must not exit while the database is away"
            before = len(stamps(client.events))
            assert all(arrived < stopped + 0.5 for _, arrived in stamps(client.events))

            own_cluster.start()
            back = time.monotonic()
            back_wall = time.time()
            assert client.wait_for(lambda ev: len(stamps(ev)) > before, 10)
            # the latest state: a value taken after the outage, not one queued before it
            newest_tick = max(tick for tick, _ in stamps(client.events))
            assert newest_tick > back - 1.0

            loop.send_signal(signal.SIGTERM)
            _, err = loop.communicate(timeout=15)
    finally:
        s.close()
    log = err.decode()
    assert loop.returncode == 0, log[-3000:]
    assert "failed, retrying" in log and "works again" in log, log[-3000:]
    # the loop's own word for when Pushpin took the first event after the outage (its log's wall clock)
    line = next(line for line in log.splitlines() if "works again" in line)
    published = datetime.datetime.strptime(line[:23], "%Y-%m-%d %H:%M:%S,%f").timestamp()
    assert published - back_wall <= 2.0, f"published {published - back_wall:.2f} s after the database came back"
    assert "Traceback" not in log
