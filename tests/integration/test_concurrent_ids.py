"""Ids under concurrency: several processes publishing to one channel at once.

Every publisher takes its ids from the channel's counter row (locked for the
batch), so no id is used twice or skipped, and Pushpin, which checks each
item's previous id against the last one it delivered, hands every SSE client
every event once and in id order, on SQLite and on PostgreSQL alike.
"""

from __future__ import annotations

import itertools
import json
import subprocess
import time
import uuid
from pathlib import Path

import pytest

from tests.support import pushpinlog
from tests.support.sse import SSEClient, SSEEvent
from tests.support.stack import Stack

pytestmark = pytest.mark.integration

PROCESSES = 4
EVENTS = 1000  # per process
BATCH = 10  # events per publish call, so that the processes interleave
CLIENTS = 3
WAIT = 60.0  # seconds, for the publishers and then for the clients

# Each publisher waits for the `go` file, so that all of them start at once
# rather than as each finishes starting Django.
PUBLISHER = """
import os, sys, time
from pathlib import Path
from dashboards_live.contract import make_event
from dashboards_live.publishing.delivery import publish
proc, channel, go = os.environ["PUBLISHER"], os.environ["CHANNEL"], Path(os.environ["GO"])
events, batch = int(os.environ["EVENTS"]), int(os.environ["BATCH"])
ids = []
while not go.exists():
    time.sleep(0.005)
for start in range(0, events, batch):
    done = publish([make_event(channel, "n", f"{proc}:{i}") for i in range(start, start + batch)])
    ids.extend(p.id for p in done)
print(" ".join(map(str, ids)))
"""


def opened(client: SSEClient) -> bool:
    return client.status == 200 and bool(client.wait_for(lambda ev: any(e.event == "stream-open" for e in ev), 10))


def published(client: SSEClient) -> list[SSEEvent]:
    return client.named("n")


def event_id(event: SSEEvent, channel: str) -> int:
    assert event.id is not None and event.id.startswith(f"{channel}:"), event
    return int(event.id.split(":", 1)[1])


def test_four_processes_publishing_at_once_never_reuse_or_skip_an_id(stack: Stack, tmp_path: Path) -> None:
    channel = f"concurrent-{uuid.uuid4().hex[:8]}"
    total = PROCESSES * EVENTS
    go = tmp_path / "go"
    clients = [SSEClient(stack.url(f"/events/{channel}/")) for _ in range(CLIENTS)]
    publishers: list[subprocess.Popen[bytes]] = []
    try:
        assert all(opened(c) for c in clients)
        env = {"CHANNEL": channel, "GO": str(go), "EVENTS": str(EVENTS), "BATCH": str(BATCH)}
        publishers = [stack.spawn("shell", "-c", PUBLISHER, env={**env, "PUBLISHER": str(p)}) for p in range(PROCESSES)]
        go.touch()
        outputs = []
        for proc in publishers:
            out, err = proc.communicate(timeout=WAIT)
            assert proc.returncode == 0, err.decode()[-3000:]
            # the last line: `shell` may say what it imported first
            outputs.append([int(i) for i in out.decode().strip().splitlines()[-1].split()])
        deadline = time.monotonic() + WAIT
        for client in clients:
            client.wait_for(lambda ev: len([e for e in ev if e.event == "n"]) >= total, deadline - time.monotonic())
    finally:
        for client in clients:
            client.close()
        for proc in publishers:
            if proc.poll() is None:
                proc.kill()

    # what each publisher was told: its own ids increase, and together they are 1..total
    for ids in outputs:
        assert len(ids) == EVENTS and ids == sorted(ids)
    assert sorted(i for ids in outputs for i in ids) == list(range(1, total + 1))
    # and they did publish at the same time: one after the other would test nothing
    interleaved = [sum(b != a + 1 for a, b in itertools.pairwise(ids)) for ids in outputs]
    assert sum(n > 0 for n in interleaved) >= 2, interleaved

    # what is stored: every event once, ids 1..total with none reused or skipped
    rows = stack.sql(
        "SELECT eid, data FROM django_eventstream_event WHERE channel = ? AND eid > 0 ORDER BY eid", (channel,)
    )
    stored = {int(str(eid)): json.loads(str(data)) for eid, data in rows}
    assert sorted(stored) == list(range(1, total + 1)), f"{len(rows)} rows"
    assert sorted(stored.values()) == sorted(f"{p}:{i}" for p in range(PROCESSES) for i in range(EVENTS))
    for p, ids in enumerate(outputs):
        assert [stored[i] for i in ids] == [f"{p}:{i}" for i in range(EVENTS)]

    # what every client got: every event exactly once, in id order, with the stored data
    for n, client in enumerate(clients):
        events = published(client)
        ids = [event_id(e, channel) for e in events]
        missing = sorted(set(range(1, total + 1)) - set(ids))
        repeated = len(ids) - len(set(ids))
        resets = [e for e in client.events if e.event in ("stream-reset", "stream-error")]
        assert ids == list(range(1, total + 1)), (
            f"client {n}: {len(ids)} events, {len(missing)} missing (first {missing[:10]}), {repeated} repeated, "
            f"out of order at {[(a, b) for a, b in itertools.pairwise(ids) if b <= a][:10]}, "
            f"resets {resets[:3]}"
        )
        assert [e.data for e in events] == [stored[i] for i in ids]

    # Publishers hold the channel from storing to posting (store.serialized), so
    # Pushpin sees one unbroken chain of previous ids. It still sends clients back
    # to Django ("recover") during this burst of 4,000 events in about a second,
    # 1 to 3 times per client (streams caught up), in fewer requests, since one
    # answer serves many streams: said, not asserted (see the -rP output)
    caught_up = pushpinlog.read([stack.base / "pushpin.log"], f"/events/{channel}/")
    print(
        f"{stack.database}: {caught_up.requests} recovery requests to Django caught up {caught_up.streams} streams"
        f" for {CLIENTS} clients, interleaving {interleaved}"
    )
