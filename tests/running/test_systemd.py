from __future__ import annotations

import os
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from dashboards_live.running.systemd import Notifier, notify_address, watchdog_interval


@pytest.fixture
def notify_socket(tmp_path: Path) -> Iterator[tuple[socket.socket, str]]:
    """The socket systemd would listen on, bound by the test."""
    path = str(tmp_path / "notify")
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(path)
    sock.settimeout(1)
    try:
        yield sock, path
    finally:
        sock.close()


def test_notify_address_understands_paths_and_the_abstract_namespace() -> None:
    assert notify_address("/run/systemd/notify") == "/run/systemd/notify"
    assert notify_address("@abstract/name") == "\0abstract/name"
    assert notify_address("vsock:2:1234") is None
    assert notify_address("") is None


def test_watchdog_interval_is_half_of_watchdog_usec_and_only_for_its_pid() -> None:
    assert watchdog_interval({"WATCHDOG_USEC": "30000000"}, 42) == 15.0
    assert watchdog_interval({"WATCHDOG_USEC": "30000000", "WATCHDOG_PID": "42"}, 42) == 15.0
    assert watchdog_interval({"WATCHDOG_USEC": "30000000", "WATCHDOG_PID": "7"}, 42) is None
    assert watchdog_interval({"WATCHDOG_USEC": "nope"}, 42) is None
    assert watchdog_interval({}, 42) is None


def test_messages_arrive_as_newline_separated_assignments(notify_socket: tuple[socket.socket, str]) -> None:
    sock, path = notify_socket
    notifier = Notifier({"NOTIFY_SOCKET": path})
    notifier.ready("running 2 feeds")
    notifier.status("12 events\nsplit")
    notifier.stopping()
    assert sock.recv(4096) == b"READY=1\nSTATUS=running 2 feeds"
    assert sock.recv(4096) == b"STATUS=12 events split"
    assert sock.recv(4096) == b"STOPPING=1\nSTATUS=stopping"


def test_abstract_socket() -> None:
    name = f"dashboards-test-{os.getpid()}"
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
        sock.bind("\0" + name)
        sock.settimeout(1)
        Notifier({"NOTIFY_SOCKET": "@" + name}).ready("ok")
        assert sock.recv(4096).startswith(b"READY=1")


def test_watchdog_pings_at_half_the_interval(notify_socket: tuple[socket.socket, str]) -> None:
    sock, path = notify_socket
    notifier = Notifier({"NOTIFY_SOCKET": path, "WATCHDOG_USEC": "2000000"})
    for now in (0.0, 0.5, 0.99, 1.0, 1.5, 2.1):
        notifier.heartbeat(now)
    sock.settimeout(0.1)
    got = []
    while True:
        try:
            got.append(sock.recv(4096))
        except TimeoutError:
            break
    assert got == [b"WATCHDOG=1"] * 3  # at 0, 1.0 and 2.1


def test_without_notify_socket_nothing_is_sent() -> None:
    notifier = Notifier({})
    assert not notifier.enabled
    assert notifier.send("READY=1") is False
    assert notifier.watchdog_every is None


def test_a_missing_listener_is_warned_about_once_and_never_raises(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    notifier = Notifier({"NOTIFY_SOCKET": str(tmp_path / "nobody")})
    with caplog.at_level("WARNING", logger="dashboards_live.running.systemd"):
        assert notifier.send("READY=1") is False
        assert notifier.send("STATUS=x") is False
    assert len(caplog.records) == 1
