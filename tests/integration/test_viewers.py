"""Who is watching, from the real Pushpin's statistics: runpushpinstats, its metrics and the pages.

The shared SQLite stack's Pushpin runs the shipped config (counts sent as they
change, a report every stats_report_interval); one reader reads its stats
socket while SSE clients come and go on two channels of the test's own.
"""

from __future__ import annotations

import json
import re
import signal
import time
import urllib.request
import uuid
from collections.abc import Callable
from typing import TypeVar

import pytest

from dashboards_live.publishing.encoding import grip_channel
from tests.support.sse import SSEClient
from tests.support.stack import Stack, free_port

pytestmark = pytest.mark.integration

T = TypeVar("T")
# the shipped stats_report_interval is 5 s: two of them, and room for a busy machine
PATIENCE = 15.0


def eventually(read: Callable[[], T], wanted: Callable[[T], bool], what: str) -> T:
    """Read until `wanted` holds (Pushpin's statistics come when they come); fails naming the last value."""
    deadline = time.monotonic() + PATIENCE
    while True:
        value = read()
        if wanted(value) or time.monotonic() > deadline:
            assert wanted(value), f"{what}: still {value!r} after {PATIENCE} s"
            return value
        time.sleep(0.1)


def get(url: str) -> str:
    with urllib.request.urlopen(url, timeout=10) as response:
        return str(response.read().decode())


def metric(text: str, name: str, channel: str | None = None) -> float | None:
    label = "" if channel is None else re.escape(f'{{channel="{channel}"}}')
    found = re.search(rf"^{name}{label} (\S+)$", text, re.MULTILINE)
    return float(found.group(1)) if found else None


def watching(page: str) -> int | None:
    found = re.search(r'<span class="watching">(\d+) watching</span>', page)
    return int(found.group(1)) if found else None


def publish_raw(stack: Stack, channel: str) -> None:
    body = {"items": [{"channel": grip_channel(channel), "formats": {"http-stream": {"content": "data: x\n\n"}}}]}
    request = urllib.request.Request(
        f"http://127.0.0.1:{stack.publish_port}/publish/",
        json.dumps(body).encode(),
        {"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        assert response.status == 200


def test_viewers_per_channel_in_the_metrics_and_on_the_pages(sqlite_stack: Stack) -> None:
    stack = sqlite_stack
    one, two = f"v1-{uuid.uuid4().hex[:8]}", f"v2-{uuid.uuid4().hex[:8]}"
    port = free_port()
    reader = stack.spawn(
        "runpushpinstats",
        "--stats-spec",
        f"ipc://{stack.run_dir}/pushpin-stats",
        "--metrics-addr",
        f"127.0.0.1:{port}",
        # the reader starts before any client of the test's channels: it hears every count
        "--warmup",
        "0",
    )
    clients: list[SSEClient] = []
    try:

        def scrape() -> str:
            try:
                return get(f"http://127.0.0.1:{port}/metrics")
            except OSError:
                assert reader.poll() is None, reader.stderr.read().decode() if reader.stderr else ""
                return ""

        eventually(scrape, lambda text: "pushpin_connections" in text, "the metrics endpoint")
        clients = [SSEClient(stack.url(f"/events/{one}/")) for _ in range(5)]
        clients += [SSEClient(stack.url(f"/events/{two}/")) for _ in range(2)]
        assert [c.status for c in clients] == [200] * 7

        def counts() -> tuple[float | None, float | None]:
            text = scrape()
            return metric(text, "pushpin_channel_subscribers", one), metric(text, "pushpin_channel_subscribers", two)

        eventually(counts, lambda c: c == (5, 2), "subscribers on the two channels")
        eventually(lambda: watching(get(stack.url(f"/demo/{one}/"))), lambda n: n == 5, "the page's count")

        # straight to Pushpin's publish port: no Django process to start for it
        publish_raw(stack, one)
        for client in clients[:3]:
            client.close()
        eventually(counts, lambda c: c == (2, 2), "subscribers once three closed")
        eventually(lambda: watching(get(stack.url(f"/demo/{one}/"))), lambda n: n == 2, "the page's count")
        assert watching(get(stack.url(f"/demo/{two}/"))) == 2

        # the index shows the declared dashboards' counts, the same as the metrics
        def on_the_index() -> int | None:
            found = re.search(r'href="/dashboards/demo/">.*?</li>', get(stack.url("/dashboards/")))
            return watching(found.group(0)) if found else None

        demo = metric(scrape(), "pushpin_channel_subscribers", "demo") or 0
        eventually(on_the_index, lambda n: n == demo, "the demo dashboard's count on the index")

        # the publish above, counted in a report by now or soon: one message, 5 deliveries
        text = eventually(
            scrape,
            lambda t: (metric(t, "pushpin_messages_delivered_total") or 0) >= 5,
            "deliveries in a report",
        )
        assert (metric(text, "pushpin_messages_published_total") or 0) >= 1
        assert (metric(text, "pushpin_connections") or 0) >= 4

        reader.send_signal(signal.SIGTERM)
        assert reader.wait(10) == 0
        # a stopped reader leaves no count that looks current
        assert watching(get(stack.url(f"/demo/{one}/"))) is None
    finally:
        for client in clients:
            client.close()
        if reader.poll() is None:
            reader.kill()
            reader.wait(5)
