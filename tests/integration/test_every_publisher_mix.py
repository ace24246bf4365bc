"""Twenty streams, a thousand events from all four publishers at once: real Pushpin, gunicorn and SSE clients.

django-eventstream's send_event (unencoded, JSON, with skip_user_ids) and push()
on threads of one process, the loop (runeventloop --iterations, four fast
feeds) and a few `sendevent` runs publish into one channel at the same time.
Their ids interleave and their posts race to Pushpin, which recovers any gap
from Django (recover=true): every client gets every stored event once, in id
order, and its stream stays open.
"""

from __future__ import annotations

import json
import re
import subprocess
import time
import uuid
from pathlib import Path

import pytest

from dashboards_live.contract import make_event
from dashboards_live.publishing.delivery import publish
from tests.support.sse import SSEClient, SSEEvent
from tests.support.stack import Stack

pytestmark = pytest.mark.integration

CHANNEL = "demo"  # push() publishes the demo's components on it
CLIENTS = 20
THREADED = ("send_event_html", "send_event_json", "send_event_skip", "push")
PER_THREAD = 199
COMMANDS = 4  # sendevent runs: each is a process start
# the feeds of tests/support/feeds_every_publisher.py (not imported here: importing registers them)
NAMES = tuple(f"mix_loop_{c}" for c in "abcdefghijklmnopqrst")
TICKS = 10  # per feed of the loop, every 0.25 s
TOTAL = len(THREADED) * PER_THREAD + COMMANDS + len(NAMES) * TICKS
QUIET = {"keep-alive", "stream-open"}
WAIT = 60.0

# send_event and push() on a thread each, all released at once when the test's `go` file appears
THREADS = """
import os, threading, time
from pathlib import Path
from django.db import connection
from django_eventstream import send_event
from dashboards_live import push
from dashboards_live.declaring.demo import Demo

run, count, go = os.environ["EVERY_PUBLISHER_RUN"], int(os.environ["PER_THREAD"]), Path(os.environ["GO"])
errors = []
Path(f"{go}.threads-ready").touch()

def publish(how):
    try:
        while not go.exists():
            time.sleep(0.005)
        for n in range(count):
            marker = f"m{run}-{how}-{n}"
            html = f"<b>{marker}</b> 100%"
            if how == "send_event_html":
                send_event("demo", "mix_html", html, json_encode=False, async_publish=False)
            elif how == "send_event_json":
                send_event("demo", "mix_json", {"text": marker}, async_publish=False)
            elif how == "send_event_skip":
                send_event("demo", "mix_skip", html, json_encode=False, skip_user_ids=["1"], async_publish=False)
            else:
                push(Demo.sse_stat, {"text": marker})
    except Exception as exc:
        errors.append(f"{how}: {exc!r}")
    finally:
        connection.close()

threads = [threading.Thread(target=publish, args=(how,)) for how in os.environ["THREADED"].split()]
for t in threads:
    t.start()
for t in threads:
    t.join()
if errors:
    raise SystemExit("\\n".join(errors))
"""


def listen(stack: Stack) -> SSEClient:
    client = SSEClient(stack.url(f"/events/{CHANNEL}/"))
    assert client.status == 200, getattr(client, "body", b"")
    assert client.wait_for(lambda evs: any(e.event == "stream-open" for e in evs), 10)
    return client


def ours(events: list[SSEEvent], after: int) -> list[SSEEvent]:
    """The channel's events past `after`, as the client got them."""
    return [e for e in events if e.event not in QUIET and e.id is not None and eid(e) > after]


def eid(event: SSEEvent) -> int:
    assert event.id is not None and event.id.startswith(f"{CHANNEL}:"), event
    return int(event.id.partition(":")[2])


def finished(proc: subprocess.Popen[bytes], what: str) -> str:
    out, err = proc.communicate(timeout=WAIT)
    assert proc.returncode == 0, f"{what} exited {proc.returncode}: {err.decode()[-2000:]}"
    return out.decode()


def test_twenty_streams_get_a_thousand_events_from_every_publisher_once_in_order(on_stack: Stack) -> None:
    stack = on_stack
    run = uuid.uuid4().hex[:8]
    [(newest,)] = stack.sql("SELECT COALESCE(MAX(eid), 0) FROM django_eventstream_event WHERE channel = ?", (CHANNEL,))
    base = int(str(newest))  # the shared stack's channel has history (other tests, the other database param)
    go = stack.base / f"go-{run}"
    env = {
        "EVERY_PUBLISHER_RUN": run,
        "PER_THREAD": str(PER_THREAD),
        "THREADED": " ".join(THREADED),
        "GO": str(go),
    }
    loop_env = {**env, "DASHBOARDS_FEED_MODULES": "tests.support.feeds_every_publisher"}
    clients = [listen(stack) for _ in range(CLIENTS)]
    try:
        began = time.monotonic()
        threaded = stack.spawn("shell", "-c", THREADS, env=env)
        # its feeds module holds the loop's start until `go` (tests/support/feeds_every_publisher.py)
        loop = stack.spawn("runeventloop", "--iterations", str(TICKS), "--status-every", "0", env=loop_env)
        ready = [Path(f"{go}.threads-ready"), Path(f"{go}.loop-ready")]
        deadline = time.monotonic() + WAIT
        while not all(p.exists() for p in ready) and time.monotonic() < deadline:
            time.sleep(0.01)
        assert all(p.exists() for p in ready), "the publishers did not start"
        go.touch()
        # each run is a process start: they land while the others publish
        commands = [stack.spawn("sendevent", CHANNEL, "mix_cmd", f"m{run}-sendevent-{i}") for i in range(COMMANDS)]
        finished(threaded, "send_event/push threads")
        loop_said = finished(loop, "runeventloop").strip()
        for i, command in enumerate(commands):
            finished(command, f"sendevent {i}")
        published = time.monotonic() - began

        stored = [
            (int(str(e)), str(t))
            for e, t in stack.sql(
                "SELECT eid, type FROM django_eventstream_event WHERE channel = ? AND eid > ? ORDER BY eid",
                (CHANNEL, base),
            )
        ]
        # ids taken by one counter: none skipped, none twice
        assert [e for e, _ in stored] == list(range(base + 1, base + 1 + len(stored)))
        # the loop keeps only the newest pending value of a feed when delivery falls behind (its
        # policy): the others publish every value
        loop_stored = sum(1 for _, t in stored if t in NAMES)
        assert len(stored) == TOTAL - len(NAMES) * TICKS + loop_stored, (len(stored), loop_stored)

        for n, client in enumerate(clients):
            client.wait_for(lambda evs: len(ours(evs, base)) >= len(stored), 30)
            got = ours(client.events, base)
            assert [(eid(e), e.event) for e in got] == stored, f"client {n}: every event once, in id order"
            check_data(got, run)
            assert not client.closed.is_set(), f"client {n}: no publish may stop a stream"
        delivered = time.monotonic() - began

        # the streams still take events after all of that (published from this process: no process start)
        last = f"m{run}-after"
        publish([make_event(CHANNEL, "mix_cmd", last)])
        for n, client in enumerate(clients):
            client.wait_for(lambda evs: any(e.data == last for e in evs), 5)
            assert [e.data for e in client.events if e.data == last] == [last], f"client {n}"
    finally:
        for client in clients:
            client.close()
    print(
        f"{stack.database}: {len(stored)} events ({loop_stored} from the loop) to {CLIENTS} streams:"
        f" published in {published:.1f} s, all delivered at {delivered:.1f} s ({loop_said})"
    )


def check_data(got: list[SSEEvent], run: str) -> None:
    """What each publisher sent arrives as it sent it, every value once; the loop's ticks in order."""
    seen: dict[str, list[int]] = {}
    for event in got:
        if event.event in ("mix_html", "mix_skip"):
            found = re.fullmatch(rf"<b>m{run}-(\w+)-(\d+)</b> 100%", event.data)
        elif event.event == "mix_json":
            found = re.fullmatch(rf"m{run}-(\w+)-(\d+)", json.loads(event.data)["text"])
        elif event.event == "mix_cmd":
            found = re.fullmatch(rf"m{run}-(\w+)-(\d+)", event.data)
        else:  # push()'s Stat and the loop's Stats: rendered fragments
            found = re.search(rf"m{run}-(\w+)-(\d+)", event.data)
        assert found, event
        seen.setdefault(found.group(1), []).append(int(found.group(2)))
    for how in THREADED:
        assert seen.pop(how) == list(range(PER_THREAD)), how
    assert sorted(seen.pop("sendevent")) == list(range(COMMANDS))
    for name in NAMES:
        ticks = seen.pop(name)
        # a superseded value is never stored; the newest always is
        assert ticks == sorted(set(ticks)) and ticks[-1] == TICKS - 1, f"{name}: {ticks}"
    assert not seen, seen
