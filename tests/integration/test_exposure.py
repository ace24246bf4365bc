"""What the running stack exposes, read from the machine's listening sockets."""

from __future__ import annotations

import psutil
import pytest

from tests.support.stack import Stack

pytestmark = pytest.mark.integration


def listeners() -> list[tuple[int | None, str, int]]:
    return [
        (c.pid, c.laddr.ip, c.laddr.port)
        for c in psutil.net_connections(kind="inet")
        if c.status == psutil.CONN_LISTEN and c.laddr
    ]


def test_publish_zmq_and_django_ports_listen_on_loopback_only(stack: Stack) -> None:
    # the stack renders the shipped pushpin/pushpin.conf; only ports and folders change
    assert stack.pushpin is not None
    private = {
        "publish": stack.publish_port,
        **{f"zmq {p}": p for p in (5560 + stack.port_offset, 5562 + stack.port_offset, 5563 + stack.port_offset)},
        "django": stack.web_port,
    }
    sockets = listeners()
    for what, port in private.items():
        addresses = {ip for _, ip, p in sockets if p == port}
        assert addresses, f"nothing listens on the {what} port {port}"
        assert addresses == {"127.0.0.1"}, f"the {what} port {port} listens on {addresses}"


def test_pushpin_listens_on_no_other_tcp_port(stack: Stack) -> None:
    assert stack.pushpin is not None
    root = psutil.Process(stack.pushpin.pid)
    pids = {root.pid, *(child.pid for child in root.children(recursive=True))}
    ports = {port for pid, _, port in listeners() if pid in pids}
    offset = stack.port_offset
    assert ports == {stack.client_port, stack.publish_port, 5560 + offset, 5562 + offset, 5563 + offset}
