"""Real processes for end-to-end tests: Pushpin (Debian package) and gunicorn.

Each Stack has its own ports, folders and SQLite database, so tests never touch
the developer's var/ and never collide. Processes are stopped by pid.
"""

from __future__ import annotations

import http.client
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlencode

from dashboards_live.pushpin import PushpinSettings, busy_ports, write_instance

ROOT = Path(__file__).resolve().parents[2]
PYTHON = sys.executable


def require(binary: str, why: str) -> str:
    """The binary's path; a loud skip (or, in the suite's strict mode, a failure)."""
    import pytest

    path = shutil.which(binary)
    if path is None:
        message = f"{binary.upper()} IS NOT INSTALLED ({why}): sudo apt-get install {binary}"
        if os.environ.get("DASHBOARDS_TEST_STRICT") == "1":
            pytest.fail(message)
        pytest.skip(message)
    return path


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_listening(
    port: int, timeout: float, proc: subprocess.Popen[bytes] | None = None, log: Path | None = None
) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            tail = log.read_text()[-2000:] if log and log.exists() else ""
            raise RuntimeError(f"process exited with {proc.returncode} before port {port} opened:\n{tail}")
        with socket.socket() as sock:
            sock.settimeout(0.2)
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise RuntimeError(f"nothing listens on 127.0.0.1:{port} after {timeout} s")


def stop(proc: subprocess.Popen[bytes] | None, sig: int = signal.SIGTERM, timeout: float = 10) -> None:
    if proc is None or proc.poll() is not None:
        return
    proc.send_signal(sig)
    try:
        proc.wait(timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(5)


@dataclass
class Stack:
    base: Path
    sig_key: str = "test-signing-key-" + str(random.randrange(10**9))
    web_workers: int = 2
    pushpin: subprocess.Popen[bytes] | None = None
    web: subprocess.Popen[bytes] | None = None
    procs: list[subprocess.Popen[bytes]] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.base.mkdir(parents=True, exist_ok=True)
        self.client_port = free_port()
        self.web_port = free_port()
        self.publish_port = free_port()
        self.port_offset = self._free_offset()
        self.env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "config.settings",
            "DASHBOARDS_VAR_DIR": str(self.base / "var"),
            "DATABASE_URL": f"sqlite:///{self.base / 'db.sqlite3'}",
            "GRIP_URL": f"http://127.0.0.1:{self.publish_port}?"
            + urlencode({"key": self.sig_key, "verify-iss": "pushpin"}),
            "DASHBOARDS_PUBLIC_URL": self.url("/"),
            "PYTHONUNBUFFERED": "1",
        }
        self.env.pop("DASHBOARDS_ALLOW_DIRECT_STREAMING", None)
        self.manage("migrate", "-v", "0", check=True)

    def _free_offset(self) -> int:
        for _ in range(50):
            offset = random.randrange(1000, 20000, 10)
            if not busy_ports("127.0.0.1", [5560 + offset, 5562 + offset, 5563 + offset]):
                return offset
        raise RuntimeError("no free port offset for Pushpin's ZMQ ports")

    def url(self, path: str = "/") -> str:
        return f"http://127.0.0.1:{self.client_port}{path}"

    def web_url(self, path: str = "/") -> str:
        return f"http://127.0.0.1:{self.web_port}{path}"

    # -- Pushpin ------------------------------------------------------------
    def start_pushpin(self, timeout: float = 15) -> None:
        binary = require("pushpin", "end-to-end tests run the real proxy")
        instance = PushpinSettings(
            http_port=f"127.0.0.1:{self.client_port}",
            publish_port=self.publish_port,
            port_offset=self.port_offset,
            sig_key=self.sig_key,
            rundir=self.base / "pushpin" / "run",
            logdir=self.base / "pushpin" / "log",
            routes=self.base / "pushpin" / "routes",
        )
        taken = busy_ports("127.0.0.1", [self.client_port, self.publish_port, *instance.zmq_ports])
        if taken:
            raise RuntimeError(f"ports {taken} are taken; Pushpin would start without them")
        conf = write_instance(
            ROOT / "pushpin" / "pushpin.conf",
            instance,
            self.base / "pushpin" / "pushpin.conf",
            web=f"127.0.0.1:{self.web_port}",
        )
        log = self.base / "pushpin.log"
        self.pushpin = subprocess.Popen(
            [binary, "--config", str(conf), "--merge-output"],
            stdout=log.open("ab"),
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        wait_listening(self.client_port, timeout, self.pushpin, log)
        wait_listening(self.publish_port, timeout, self.pushpin, log)
        if self.web is not None:
            self.wait_serving(timeout)

    def wait_serving(self, timeout: float) -> None:
        """Pushpin listens before its parts are connected to each other: its first
        requests can get a 502 or a closed connection. Wait for a real answer."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                with urllib.request.urlopen(self.url("/"), timeout=2) as response:
                    if response.status == 200:
                        return
            except (OSError, http.client.HTTPException):
                pass
            if time.monotonic() >= deadline:
                raise RuntimeError(f"Pushpin on port {self.client_port} does not answer after {timeout} s")
            time.sleep(0.05)

    def stop_pushpin(self, sig: int = signal.SIGTERM) -> None:
        stop(self.pushpin, sig)
        self.pushpin = None

    # -- Django -------------------------------------------------------------
    def start_web(self, timeout: float = 20) -> None:
        require("gunicorn" if shutil.which("gunicorn") else PYTHON, "the web process")
        log = self.base / "web.log"
        self.web = subprocess.Popen(
            [
                PYTHON,
                "-m",
                "gunicorn",
                "config.wsgi",
                "-b",
                f"127.0.0.1:{self.web_port}",
                "-w",
                str(self.web_workers),
                "--graceful-timeout",
                "2",
            ],
            cwd=ROOT,
            env=self.env,
            stdout=log.open("ab"),
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        wait_listening(self.web_port, timeout, self.web, log)

    def stop_web(self, sig: int = signal.SIGTERM) -> None:
        stop(self.web, sig)
        self.web = None

    # -- commands -------------------------------------------------------------
    def manage(
        self,
        *args: str,
        timeout: float = 60,
        check: bool = False,
        input: bytes | None = None,
        env: dict[str, str] | None = None,
    ) -> subprocess.CompletedProcess[str]:
        result = subprocess.run(
            [PYTHON, "manage.py", *args],
            cwd=ROOT,
            env={**self.env, **(env or {})},
            capture_output=True,
            timeout=timeout,
            input=input.decode() if input else None,
            text=True,
        )
        if check and result.returncode != 0:
            raise RuntimeError(f"manage.py {' '.join(args)} failed: {result.stderr}")
        return result

    def spawn(self, *args: str, env: dict[str, str] | None = None) -> subprocess.Popen[bytes]:
        proc = subprocess.Popen(
            [PYTHON, "manage.py", *args],
            cwd=ROOT,
            env={**self.env, **(env or {})},
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        self.procs.append(proc)
        return proc

    def start(self) -> Stack:
        self.start_web()
        self.start_pushpin()
        return self

    def close(self) -> None:
        for proc in self.procs:
            stop(proc, signal.SIGKILL)
        self.stop_pushpin()
        self.stop_web()
