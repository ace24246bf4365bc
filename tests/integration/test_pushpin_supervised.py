"""runpushpin keeps Pushpin up: a real runpushpin in front of the shared stack's web process.

condure killed under connected clients: Pushpin comes back and the clients,
reconnecting as a browser does, get the next event. The pushpin runner killed
on its own: runpushpin starts it again. runpushpin itself killed: the Pushpin it
leaves serving is ended by the next runpushpin, which starts fine.
"""

from __future__ import annotations

import contextlib
import io
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest

from dashboards_live.web import pushpin
from tests.support.sse import SSEClient
from tests.support.stack import ROOT, Stack, free_port, require, stop

BOUND = 30.0  # seconds for clients to be back after a kill
CHANNEL = "supervised"


class RunPushpin:
    """`manage.py runpushpin` on its own ports, routing to the stack's web process."""

    def __init__(self, stack: Stack) -> None:
        self.stack = stack
        self.dir = Path(tempfile.mkdtemp(prefix="rps-"))  # short: Pushpin's unix sockets live in it
        self.rundir = self.dir / "run"
        self.client_port = free_port()
        publish_port = free_port()
        self.offset = next(
            o
            for o in range(20010, 40000, 10)
            if not pushpin.busy_ports("127.0.0.1", [p + o for p in pushpin.ZMQ_PORTS])
            and not {publish_port, self.client_port} & {p + o for p in pushpin.ZMQ_PORTS}
        )
        # the stack's signing key, so its web process accepts what this Pushpin signs
        self.grip_url = f"http://127.0.0.1:{publish_port}?" + urlencode({"key": stack.sig_key, "verify-iss": "pushpin"})
        self.procs: list[subprocess.Popen[bytes]] = []

    def start(self) -> subprocess.Popen[bytes]:
        log = (self.dir / "runpushpin.log").open("ab")
        proc = subprocess.Popen(
            [
                *(sys.executable, "manage.py", "runpushpin", "--instance-dir", str(self.dir), "--loglevel", "1"),
                *("--http-port", f"127.0.0.1:{self.client_port}", "--port-offset", str(self.offset)),
                *("--web", f"127.0.0.1:{self.stack.web_port}"),
            ],
            cwd=ROOT,
            env={**self.stack.env, "GRIP_URL": self.grip_url},
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        self.procs.append(proc)
        return proc

    @property
    def log(self) -> str:
        return (self.dir / "runpushpin.log").read_text()

    def logged(self, text: str, times: int = 1) -> None:
        deadline = time.monotonic() + BOUND
        while self.log.count(text) < times:
            assert time.monotonic() < deadline, f"runpushpin did not log {text!r} within {BOUND} s:\n{self.log[-3000:]}"
            time.sleep(0.05)

    def pid(self, name: str) -> int:
        return int((self.rundir / f"{name}.pid").read_text())

    def streams(self, count: int) -> list[SSEClient]:
        """`count` clients with an open stream, retrying as a browser's page does (bounded)."""
        clients: list[SSEClient] = []
        deadline = time.monotonic() + BOUND
        while len(clients) < count:
            with contextlib.suppress(OSError):
                client = SSEClient(f"http://127.0.0.1:{self.client_port}/events/{CHANNEL}/", timeout=5)
                if client.status == 200:
                    clients.append(client)
                    continue
                client.close()  # a Pushpin still starting may answer 500 or 502
            assert time.monotonic() < deadline, f"no stream within {BOUND} s:\n{self.log[-3000:]}"
            time.sleep(0.1)
        return clients

    def leftovers(self) -> list[int]:
        """Live processes whose command line names this instance."""
        found = []
        for entry in Path("/proc").iterdir():
            if entry.name.isdigit():
                with contextlib.suppress(OSError):
                    if str(self.dir).encode() in (entry / "cmdline").read_bytes():
                        found.append(int(entry.name))
        return found

    def close(self) -> None:
        for proc in self.procs:
            stop(proc, signal.SIGTERM, timeout=15)
        for pid in self.leftovers():
            with contextlib.suppress(OSError):
                os.kill(pid, signal.SIGKILL)
        shutil.rmtree(self.dir, ignore_errors=True)


@pytest.fixture
def runpushpin(sqlite_stack: Stack) -> Iterator[RunPushpin]:
    require("pushpin", "runpushpin runs the real proxy")
    rp = RunPushpin(sqlite_stack)
    try:
        yield rp
    finally:
        rp.close()


def publish(stack: Stack, grip_url: str, data: str, django_db_blocker: Any) -> None:
    from django.core.management import call_command
    from django.test import override_settings

    with django_db_blocker.unblock(), stack.in_process(), override_settings(GRIP_URL=grip_url):
        call_command("sendevent", CHANNEL, "tick", data, stdout=io.StringIO(), stderr=io.StringIO())


def test_pushpin_comes_back_after_its_parts_are_killed(
    runpushpin: RunPushpin, django_db_blocker: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    rp = runpushpin
    supervisor = rp.start()
    clients = rp.streams(3)

    # condure panics (as Debian's did under a flood): every part goes down, the streams end
    os.kill(rp.pid("condure"), signal.SIGKILL)
    for client in clients:
        assert client.closed.wait(BOUND), "a stream outlived condure"
        client.close()
    clients = rp.streams(3)
    publish(rp.stack, rp.grip_url, "after condure", django_db_blocker)
    for client in clients:
        got = client.wait_for(lambda events: any(e.data == "after condure" for e in events), timeout=BOUND)
        assert [e.data for e in got if e.event == "tick"][-1:] == ["after condure"]
        client.close()
    assert "condure" in rp.log and "restart 1)" in rp.log

    # the runner alone killed: its children are ended, and Pushpin starts again
    runner = rp.pid("runpushpin-runner")
    os.kill(runner, signal.SIGKILL)
    rp.logged("the pushpin runner exited with status -9; restarting it in 1 s (restart 2)")
    rp.streams(1)[0].close()
    assert rp.pid("runpushpin-runner") != runner

    # runpushpin killed: the Pushpin it leaves serving is the next runpushpin's to end
    supervisor.kill()
    supervisor.wait(5)
    assert rp.leftovers(), "runpushpin's Pushpin did not outlive it (nothing to clean up)"
    orphans = set(rp.leftovers())
    successor = rp.start()
    rp.logged("Pushpin: browsers on", times=2)  # once it has ended the orphans and found the ports free
    rp.streams(1)[0].close()
    assert not orphans & set(rp.leftovers())
    assert "already in use" not in rp.log

    successor.send_signal(signal.SIGTERM)
    assert successor.wait(15) == 0, rp.log[-3000:]
    assert rp.leftovers() == []
