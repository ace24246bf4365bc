"""runeventloop as operators run it: a real process, a real Pushpin, a real SSE client."""

from __future__ import annotations

import contextlib
import http.client
import itertools
import re
import signal
import socket
import statistics
import subprocess
import threading
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.feeds_for_tests import CHANNEL
from tests.support.sse import SSEClient, SSEEvent
from tests.support.stack import Stack, free_port

pytestmark = pytest.mark.integration

FEEDS = {"DASHBOARDS_FEED_MODULES": "dashboards_live.declaring.demo,tests.support.feeds_for_tests"}


def tick(event: SSEEvent) -> tuple[int, float]:
    """The tick number and the monotonic time a test feed stamped on its value."""
    number = re.search(r'class="stat-text">(\d+)<', event.data)
    stamp = re.search(r" at (\d+\.\d+)<", event.data)
    assert number and stamp, event.data
    return int(number.group(1)), float(stamp.group(1))


def subscribed(url: str, retry_for: float = 2) -> SSEClient:
    """An open stream, reconnecting for up to `retry_for` seconds as htmx's SSE extension does.

    A Pushpin that has just (re)started can answer 500 or 502, or close the
    connection, until its parts are connected to each other.
    """
    deadline = time.monotonic() + retry_for
    while True:
        try:
            client = SSEClient(url)
        except (OSError, http.client.HTTPException):
            if time.monotonic() >= deadline:
                raise
        else:
            if client.status == 200 or time.monotonic() >= deadline:
                break
            client.close()
        time.sleep(0.05)
    assert client.status == 200
    assert client.wait_for(lambda ev: any(e.event == "stream-open" for e in ev), 5)
    return client


@pytest.fixture
def client(stack: Stack) -> Iterator[SSEClient]:
    with subscribed(stack.url(f"/events/{CHANNEL}/")) as c:
        yield c


def finish(proc: subprocess.Popen[bytes], timeout: float = 10) -> tuple[int, str, str]:
    out, err = proc.communicate(timeout=timeout)
    return proc.returncode, out.decode(), err.decode()


def test_feeds_arrive_at_their_rates_and_a_raising_feed_delays_none(stack: Stack, client: SSEClient) -> None:
    port = free_port()
    proc = stack.spawn(
        *("runeventloop", "t_fast", "t_medium", "t_slow", "t_broken"),
        *("--duration", "3", "--status-every", "1", "--metrics-addr", f"127.0.0.1:{port}"),
        env=FEEDS,
    )
    time.sleep(2)
    scraped = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5).read().decode()
    code, _out, err = finish(proc)
    time.sleep(0.3)
    # a feed that fails on its last tick makes a bounded run exit 1, with one clear last line
    assert code == 1, err
    assert err.strip().splitlines()[-1] == (
        "CommandError: feed(s) failed on their last tick: t_broken: RuntimeError: this test feed always fails"
    )
    for name, interval in (("fast", 0.1), ("medium", 0.25), ("slow", 0.5)):
        events = client.named(name)
        assert abs(len(events) - 3 / interval) <= 2, (name, len(events))
        assert [tick(e)[0] for e in events] == list(range(len(events)))
        # the feed's own timestamps keep to the grid, whatever the broken feed does
        stamps = [tick(e)[1] for e in events]
        gaps = [b - a for a, b in itertools.pairwise(stamps)]
        assert statistics.median(gaps) == pytest.approx(interval, abs=0.01)
        # generous: a shared machine can stall a process; the median above is the rate
        assert max(gaps) < interval + 0.3, (name, max(gaps))
    assert client.named("broken") == []
    assert "ERROR dashboards_live.running.loop: feed t_broken failed (1 in a row), retrying in 0.5 s" in err
    assert "Traceback" in err and "RuntimeError: this test feed always fails" in err
    status_line = r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} INFO dashboards_live.running.status: status after 1 s"
    assert re.search(status_line, err, re.M)
    assert re.search(r"t_fast ticks=\d+ events=\d+ failures=0 skipped=\d+ latency=[\d.]+ms", err)
    fast = '{channel="looptest",event="fast",feed="t_fast"}'
    assert re.search(rf"dashboards_feed_events_total{re.escape(fast)} [1-9]\d\.0", scraped)
    assert re.search(r'dashboards_feed_failures_total\{[^}]*feed="t_broken"\} [1-9]', scraped)


def test_fifty_publishes_a_second_arrive_as_they_go_not_when_publishing_pauses(stack: Stack, client: SSEClient) -> None:
    # Pushpin's message rate limiter, when configured, holds deliveries back while
    # publishes keep coming faster than every 25 ms: the shipped config turns it off
    result = stack.manage("runeventloop", "t_rapid", "--duration", "1.5", "--status-every", "0", env=FEEDS)
    assert result.returncode == 0, result.stderr
    published = int(re.search(r"(\d+) events published", result.stdout).group(1))  # type: ignore[union-attr]
    assert published >= 40  # 75 ticks; a busy machine may skip some, never queue them
    client.wait_for(lambda ev: len(client.named("rapid")) >= published, 5)
    delays = [e.received_at - tick(e)[1] for e in client.named("rapid")]
    assert len(delays) == published
    assert statistics.median(delays) < 0.1, statistics.median(delays)


@pytest.mark.parametrize("stop", [signal.SIGTERM, signal.SIGHUP], ids=["SIGTERM", "SIGHUP"])
def test_sigterm_or_sighup_exits_0_within_2_s_and_the_last_events_arrive(
    stack: Stack, client: SSEClient, stop: signal.Signals
) -> None:
    proc = stack.spawn("runeventloop", "t_fast", "t_slow", "--status-every", "0", env=FEEDS)
    client.wait_for(lambda ev: len(client.named("fast")) >= 5, 10)
    began = time.monotonic()
    proc.send_signal(stop)
    code, out, err = finish(proc, timeout=5)
    assert time.monotonic() - began < 2
    assert code == 0, err
    summary = re.search(r"runeventloop: 2 feed\(s\), (\d+) ticks, (\d+) events published", out)
    assert summary, out
    assert summary.group(1) == summary.group(2)
    client.wait_for(lambda ev: len(client.named("fast")) + len(client.named("slow")) >= int(summary.group(2)), 2)
    # every tick was delivered, the very last one included
    assert len(client.named("fast")) + len(client.named("slow")) == int(summary.group(2))
    assert tick(client.named("fast")[-1])[0] == len(client.named("fast")) - 1
    assert "Traceback" not in err
    if stop == signal.SIGHUP:
        assert "SIGHUP" in err and "stopping cleanly" in err


class SilentPushpin:
    """Accepts connections and never answers: a hung Pushpin."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.port = self.sock.getsockname()[1]

    def close(self) -> None:
        self.sock.close()


def test_a_hung_pushpin_delays_neither_sigterm_nor_a_second_sigint(stack: Stack) -> None:
    hung = SilentPushpin()
    env = {**FEEDS, "GRIP_URL": f"http://127.0.0.1:{hung.port}?key=x", "DASHBOARDS_PUBLISH_TIMEOUT": "30"}
    try:
        proc = stack.spawn("runeventloop", "t_fast", env=env)
        time.sleep(1.5)  # the first publish hangs now
        began = time.monotonic()
        proc.send_signal(signal.SIGTERM)
        code, _, err = finish(proc)
        # far under the 30 s publish timeout: the stop flush is bounded (1 s) and the rest is
        # process exit, which a loaded CI box can stretch past a second
        assert time.monotonic() - began < 10
        assert code == 0, err
        assert "not delivered" in err

        proc = stack.spawn("runeventloop", "t_fast", env=env)
        time.sleep(1.5)
        proc.send_signal(signal.SIGINT)
        time.sleep(0.2)
        began = time.monotonic()
        proc.send_signal(signal.SIGINT)
        code, _, err = finish(proc)
        assert time.monotonic() - began < 0.5
        assert code == 130
        assert "Interrupted twice" in err
    finally:
        hung.close()


def test_pushpin_down_for_5_s_never_stops_the_loop_and_state_is_current_after(own_stack: Stack) -> None:
    proc = own_stack.spawn("runeventloop", "t_fast", "--status-every", "0", env=FEEDS)
    with subscribed(own_stack.url(f"/events/{CHANNEL}/")) as before:
        before.wait_for(lambda ev: len(before.named("fast")) >= 3, 10)
        own_stack.stop_pushpin()
    time.sleep(5)
    assert proc.poll() is None
    own_stack.start_pushpin()
    restarted = time.monotonic()
    with subscribed(own_stack.url(f"/events/{CHANNEL}/")) as after:
        # current state: a value produced after the restart, not one held from the outage
        after.wait_for(lambda ev: any(tick(e)[1] > restarted for e in after.named("fast")), 5)
        current = [e for e in after.named("fast") if tick(e)[1] > restarted]
    assert proc.poll() is None  # never exited
    assert current and current[0].received_at - restarted < 2
    proc.send_signal(signal.SIGTERM)
    code, _, err = finish(proc)
    assert code == 0
    assert "WARNING dashboards_live.publishing.delivery: publishing failed, retrying" in err
    assert "Pushpin is not reachable" in err
    assert "INFO dashboards_live.publishing.delivery: publishing works again" in err
    assert "Traceback" not in err


def test_systemd_hears_ready_watchdog_status_and_stopping(stack: Stack, tmp_path: Path) -> None:
    path = str(tmp_path / "notify")
    messages: list[str] = []
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
        sock.bind(path)
        sock.settimeout(0.1)
        done = threading.Event()

        def listen() -> None:  # as systemd does, while the service runs
            while not done.is_set():
                with contextlib.suppress(TimeoutError):
                    messages.append(sock.recv(4096).decode())

        listener = threading.Thread(target=listen, daemon=True)
        listener.start()
        env = {**FEEDS, "NOTIFY_SOCKET": path, "WATCHDOG_USEC": "200000"}
        result = stack.manage("runeventloop", "t_fast", "--duration", "1.5", env=env)
        done.set()
        listener.join(2)
        assert result.returncode == 0, result.stderr
    assert "cannot notify" not in result.stderr
    assert messages[0] == "READY=1\nSTATUS=running 1 feed(s)"
    assert messages.count("WATCHDOG=1") >= 10  # every 0.1 s for 1.5 s
    assert messages[-1].startswith("STOPPING=1\nSTATUS=stopping: 1 feed, ")


def test_once_runs_each_feed_once_and_exits(stack: Stack, client: SSEClient) -> None:
    result = stack.manage("runeventloop", "t_fast", "t_slow", "--once", env=FEEDS)
    assert result.returncode == 0, result.stderr
    assert "runeventloop: 2 feed(s), 2 ticks, 2 events published" in result.stdout
    client.wait_for(lambda ev: bool(client.named("fast") and client.named("slow")), 5)
    time.sleep(0.3)
    assert [tick(e)[0] for e in client.named("fast") + client.named("slow")] == [0, 0]


def test_once_without_pushpin_is_exit_1_without_a_traceback(stack: Stack) -> None:
    # a bounded run retries until the publish timeout, then gives up
    env = {**FEEDS, "GRIP_URL": f"http://127.0.0.1:{free_port()}?key=x", "DASHBOARDS_PUBLISH_TIMEOUT": "1"}
    result = stack.manage("runeventloop", "t_fast", "--once", env=env)
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert (
        result.stderr.strip()
        .splitlines()[-1]
        .startswith("CommandError: 1 event(s) were not delivered: Pushpin is not reachable at http://127.0.0.1:")
    )


def test_list_prints_the_feeds(stack: Stack) -> None:
    result = stack.manage("runeventloop", "--list", env=FEEDS)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].split() == ["FEED", "CHANNEL", "EVENT", "EVERY"]
    assert ["t_fast", "looptest", "fast", "0.1s"] in [line.split() for line in lines]
    assert ["demo_stat", "demo", "sse_stat", "1s"] in [line.split() for line in lines]
    only = stack.manage("runeventloop", "--list", "t_slow", env=FEEDS)
    assert only.stdout.splitlines()[1:] == ["t_slow  looptest  slow   0.5s"]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["nope", "t_fast"], "unknown feed(s): nope. Known feeds: demo_chart, demo_latency,"),
        (["--list", "nope"], "unknown feed(s): nope."),
        (["--duration", "0"], "must be a positive number"),
        (["--once", "--iterations", "2"], "not allowed with argument"),
        (["--status-every", "-1"], "must be a positive number"),
        (["--metrics-addr", "9100"], "is not HOST:PORT"),
    ],
)
def test_bad_usage_is_exit_2_with_one_line(stack: Stack, args: list[str], message: str) -> None:
    result = stack.manage("runeventloop", *args, env=FEEDS)
    assert result.returncode == 2
    assert message in result.stderr
    assert "Traceback" not in result.stderr


def test_a_taken_metrics_port_is_exit_1_with_one_line(stack: Stack) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = stack.manage("runeventloop", "t_fast", "--metrics-addr", f"127.0.0.1:{port}", env=FEEDS)
    assert result.returncode == 1
    assert result.stderr.strip() == f"CommandError: cannot serve metrics on 127.0.0.1:{port}: Address already in use"
