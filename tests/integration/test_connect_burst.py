"""A burst of stream connects, as every viewer makes at once after a Pushpin restart.

Pushpin's proxy hands each request to zurl over a ZMQ queue capped at 100 and
answers 502 when it is full; a browser's EventSource does not retry a 502. The
shipped config caps the requests the proxy has open (max_open_requests), so
the rest wait their turn instead.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import resource
from collections import Counter
from collections.abc import Iterator

import pytest

from tests.support.stack import Stack

CLIENTS = 1000
BOUND = 60.0  # seconds for the whole burst; the test stops by itself


WANTED_FILES = CLIENTS + 500


def room(soft: int, hard: int) -> tuple[int, int]:
    if hard != resource.RLIM_INFINITY and hard < WANTED_FILES:
        pytest.fail(f"the open-file limit ({hard}) is below {WANTED_FILES}: raise it (ulimit -Hn)")
    return max(soft, WANTED_FILES), hard


@pytest.fixture
def open_files(sqlite_stack: Stack) -> Iterator[None]:
    """Room for CLIENTS sockets in this process and in the stack's condure, which
    inherited the limit the session started with."""
    condure = int((sqlite_stack.run_dir / "condure.pid").read_text())
    resource.prlimit(condure, resource.RLIMIT_NOFILE, room(*resource.prlimit(condure, resource.RLIMIT_NOFILE)))
    own = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, room(*own))
    try:
        yield
    finally:
        resource.setrlimit(resource.RLIMIT_NOFILE, own)


async def connect(port: int, path: str, statuses: Counter[str]) -> asyncio.StreamWriter | None:
    """One stream connect; counts the status Pushpin answers with and keeps the stream open."""
    try:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
    except OSError as exc:
        statuses[f"connect failed: {exc.strerror}"] += 1
        return None
    writer.write(f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: text/event-stream\r\n\r\n".encode())
    try:
        line = await reader.readline()
    except OSError:
        line = b""
    parts = line.split()
    statuses[parts[1].decode() if len(parts) > 1 else "closed"] += 1
    return writer


async def burst(port: int, path: str) -> Counter[str]:
    statuses: Counter[str] = Counter()
    tasks = [asyncio.ensure_future(connect(port, path, statuses)) for _ in range(CLIENTS)]
    done, pending = await asyncio.wait(tasks, timeout=BOUND)
    for task in pending:
        task.cancel()
    if pending:
        statuses["no answer"] += len(pending)
    for task in done:
        writer = task.result()
        if writer is not None:
            writer.close()
    return statuses


def test_a_burst_of_a_thousand_connects_is_all_answered_200(sqlite_stack: Stack, open_files: None) -> None:
    # a thread of its own: once a browser test has run, Playwright's sync API
    # holds a running event loop in this one, and asyncio.run refuses to nest
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        statuses = pool.submit(asyncio.run, burst(sqlite_stack.client_port, "/events/connect-burst/")).result()
    assert statuses == Counter({"200": CLIENTS}), dict(statuses)
