"""A client that stops reading must not delay the others."""

from __future__ import annotations

import socket
import time

import pytest

from tests.support.sse import SSEClient
from tests.support.stack import Stack

pytestmark = pytest.mark.integration

P1_BOUND_MS = 250  # the fan-out goal: p99 publish-to-receive latency


def test_a_stalled_client_does_not_delay_live_ones(stack: Stack) -> None:
    stalled = socket.socket()
    stalled.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    stalled.connect(("127.0.0.1", stack.client_port))
    stalled.sendall(b"GET /events/slow/ HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: text/event-stream\r\n\r\n")
    live = [SSEClient(stack.url("/events/slow/")) for _ in range(10)]
    try:
        for client in live:
            assert client.wait_for(lambda ev: any(e.event == "stream-open" for e in ev), 10)
        # 100 events of 16 KiB: far more than the stalled socket's buffers hold
        filler = "x" * 16384
        datas = [f"seq={i};{filler}" for i in range(100)]
        sent = stack.publish("slow", "tick", datas, interval=0.05)
        for client in live:
            client.wait_for(lambda ev: sum(e.event == "tick" for e in ev) >= 100, 20)
        latencies = []
        for client in live:
            ticks = client.named("tick")
            assert [t.data.split(";")[0] for t in ticks] == [f"seq={i}" for i in range(100)]
            latencies += [(t.received_at - sent[i]) * 1000 for i, t in enumerate(ticks)]
        latencies.sort()
        p99 = latencies[int(0.99 * len(latencies)) - 1]
        assert p99 <= P1_BOUND_MS, f"p99 {p99:.0f} ms with a stalled client"
        # the stalled client really is stalled: the connection is still open, its data unread
        stalled.setblocking(False)
        assert stalled.recv(1, socket.MSG_PEEK) == b"H"
    finally:
        stalled.close()
        for client in live:
            client.close()
        time.sleep(0.1)
