"""runeventloop --ha on PostgreSQL: one active loop per feed, takeover within the lease, no tick twice."""

from __future__ import annotations

import re
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import new_stack
from tests.support.sse import SSEClient, SSEEvent
from tests.support.stack import Stack

pytestmark = pytest.mark.integration

FEEDS = {"DASHBOARDS_FEED_MODULES": "tests.support.feeds_for_tests"}
LEASE = 2.0


@pytest.fixture
def pg_stack(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Stack]:
    s = new_stack(request, tmp_path / "stack", "postgres")
    try:
        yield s.start()
    finally:
        s.close()


def ticks(events: list[SSEEvent]) -> list[tuple[int, int, float]]:
    """(pid, grid slot, arrival) of every t_ha event."""
    out = []
    for e in events:
        if e.event == "ha":
            pid = re.search(r'stat-text">(\d+)<', e.data)
            slot = re.search(r"slot (\d+)", e.data)
            assert pid and slot, e.data
            out.append((int(pid.group(1)), int(slot.group(1)), e.received_at))
    return out


def start(stack: Stack) -> subprocess.Popen[bytes]:
    return stack.spawn("runeventloop", "--ha", "--ha-lease", str(LEASE), "t_ha", "--status-every", "0", env=FEEDS)


def first_from(client: SSEClient, pid: int, after: float, timeout: float) -> float:
    got = client.wait_for(lambda ev: any(p == pid and t > after for p, _, t in ticks(ev)), timeout)
    assert got, f"no event from {pid} within {timeout} s: {ticks(client.events)[-5:]}"
    return min(t for p, _, t in ticks(client.events) if p == pid and t > after)


def test_one_host_publishes_the_other_takes_over_when_it_dies_or_is_cut_off(pg_stack: Stack) -> None:
    with SSEClient(pg_stack.url("/events/hatest/")) as client:
        assert client.status == 200
        a, b = start(pg_stack), start(pg_stack)
        try:
            assert client.wait_for(lambda ev: len(ticks(ev)) >= 4, 20), pg_stack.base
            holders = {p for p, _, _ in ticks(client.events)}
            assert len(holders) == 1, holders  # exactly one of the two publishes
            [holder] = holders
            standby = b if holder == a.pid else a
            active = a if holder == a.pid else b

            listing = pg_stack.manage("runeventloop", "--ha", "--list", "t_ha", env=FEEDS)
            assert listing.returncode == 0, listing.stderr
            assert f":{holder}" in listing.stdout and "HELD BY" in listing.stdout

            # the holder dies: its session closes, the standby takes over within the lease
            active.send_signal(signal.SIGKILL)
            active.wait(5)
            killed = time.monotonic()
            took_over = first_from(client, standby.pid, killed, LEASE + 5) - killed
            assert took_over <= LEASE + 1.0, took_over

            # a third host stands by; then the holder's lease session is cut from the server side
            c = start(pg_stack)
            time.sleep(LEASE)
            cut = time.monotonic()
            terminated = pg_stack.sql(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name LIKE ?",
                (f"dashboards_live ha %:{standby.pid}",),
            )
            assert terminated == [(True,)], terminated
            took_over = first_from(client, c.pid, cut, LEASE + 5) - cut
            assert took_over <= LEASE + 1.0, took_over
            time.sleep(2 * LEASE)  # the cut-off host reconnects, and must stay standby
        finally:
            for proc in (a, b, *pg_stack.procs):
                if proc.poll() is None:
                    proc.send_signal(signal.SIGTERM)
            for proc in pg_stack.procs:
                proc.wait(10)

    seen = ticks(client.events)
    by_slot: dict[int, set[int]] = {}
    for pid, slot, _ in seen:
        by_slot.setdefault(slot, set()).add(pid)
    assert [s for s, pids in by_slot.items() if len(pids) > 1] == [], "a tick was published by two hosts"
    # and the cut-off host published nothing once its session was gone
    assert all(p != standby.pid for p, _, t in seen if t > cut + 0.1)


def test_ha_is_refused_on_sqlite(tmp_path: Path) -> None:
    s = Stack(tmp_path / "stack")
    try:
        result = s.manage("runeventloop", "--ha", "t_ha", env=FEEDS)
    finally:
        s.close()
    assert result.returncode == 2
    assert (
        result.stderr.strip()
        .splitlines()[-1]
        .endswith("--ha needs PostgreSQL: DATABASE_URL is sqlite (advisory locks are PostgreSQL's)")
    ), result.stderr
    assert "Traceback" not in result.stderr
