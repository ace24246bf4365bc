"""Real processes for end-to-end tests: Pushpin (Debian package) and gunicorn.

Each Stack has its own ports, folders and database (a SQLite file, or a fresh
database in a PostgreSQL cluster from tests.support.postgres), so tests never
touch the developer's var/ and never collide. Processes are stopped by pid.
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
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Literal
from urllib.parse import urlencode

from dashboards_live.web import pushpin

if TYPE_CHECKING:
    from tests.support.postgres import Cluster

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


def pyformat(statement: str) -> str:
    """`?` placeholders (qmark, sqlite3's style) as psycopg's `%s`; a literal `%` doubled.

    A `?` inside quotes ('text', "identifier") stays as it is."""
    out: list[str] = []
    quote = ""
    for char in statement:
        if quote:
            if char == quote:
                quote = ""
        elif char in "'\"":
            quote = char
        elif char == "?":
            out.append("%s")
            continue
        out.append("%%" if char == "%" else char)
    return "".join(out)


@dataclass
class Stack:
    base: Path
    sig_key: str = "test-signing-key-" + str(random.randrange(10**9))
    web_workers: int = 2
    # e.g. {("handler", "message_rate"): "2500"}: run Pushpin with other values
    pushpin_overrides: dict[tuple[str, str], str] = field(default_factory=dict)
    # the WSGI app gunicorn serves ("config.wsgi", or a bench backend)
    wsgi_app: str = "config.wsgi"
    # "sqlite": a file in `base`; "postgres": a fresh database in `cluster`
    database: Literal["sqlite", "postgres"] = "sqlite"
    cluster: Cluster | None = None
    pushpin: subprocess.Popen[bytes] | None = None
    web: subprocess.Popen[bytes] | None = None
    procs: list[subprocess.Popen[bytes]] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.base.mkdir(parents=True, exist_ok=True)
        self.client_port = free_port()
        self.web_port = free_port()
        self.publish_port = free_port()
        self.port_offset = self._free_offset()
        # Pushpin's ZMQ ipc sockets live here: a unix socket path holds at most 107 bytes
        self.run_dir = Path(tempfile.mkdtemp(prefix="pushpin-run-"))
        if self.database == "sqlite":
            self.database_url = f"sqlite:///{self.base / 'db.sqlite3'}"
        elif self.database == "postgres":
            if self.cluster is None:
                raise ValueError("Stack(database='postgres') needs a cluster (the postgres_cluster fixture)")
            self.database_url = self.cluster.url(self.cluster.create_database())
        else:
            raise ValueError(f"unknown database {self.database!r}: 'sqlite' or 'postgres'")
        self.env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "config.settings",
            "DASHBOARDS_VAR_DIR": str(self.base / "var"),
            "DATABASE_URL": self.database_url,
            "GRIP_URL": f"http://127.0.0.1:{self.publish_port}?"
            + urlencode({"key": self.sig_key, "verify-iss": "pushpin"}),
            "DASHBOARDS_PUBLIC_URL": self.url("/"),
            "PYTHONUNBUFFERED": "1",
            # tests use many channels; the security tests set their own rules
            "DASHBOARDS_CHANNELS": "*=public",
        }
        self.env.pop("DASHBOARDS_ALLOW_DIRECT_STREAMING", None)
        self.manage("migrate", "-v", "0", check=True)

    @property
    def db_path(self) -> Path:
        """The SQLite file (a SQLite stack only: use `sql()` to read either kind)."""
        if self.database != "sqlite":
            raise AttributeError(f"a {self.database} stack has no database file: use Stack.sql()")
        return self.base / "db.sqlite3"

    @contextmanager
    def in_process(self) -> Iterator[Stack]:
        """Django in the test process talking to this stack: its database, its Pushpin.

        Publishing here then agrees with the stack's web process on event ids,
        as every publisher must. Needs database access unblocked (the
        `on_stack` fixture does both).
        """
        from django.db import connections
        from django.db.utils import load_backend
        from django.test import override_settings

        from config.settings import database_settings

        current = connections["default"]
        # the connection the stack's processes make from DATABASE_URL, with
        # Django's defaults for the keys a URL does not give
        settings_dict = {**current.settings_dict, **database_settings(self.database_url)}
        wrapper = load_backend(settings_dict["ENGINE"]).DatabaseWrapper(settings_dict, "default")
        connections["default"] = wrapper
        try:
            with override_settings(GRIP_URL=self.env["GRIP_URL"]):
                yield self
        finally:
            wrapper.close()
            connections["default"] = current

    def _free_offset(self) -> int:
        for _ in range(50):
            offset = random.randrange(1000, 20000, 10)
            if not pushpin.busy_ports("127.0.0.1", [port + offset for port in pushpin.ZMQ_PORTS]):
                return offset
        raise RuntimeError("no free port offset for Pushpin's ZMQ ports")

    def url(self, path: str = "/") -> str:
        return f"http://127.0.0.1:{self.client_port}{path}"

    def web_url(self, path: str = "/") -> str:
        return f"http://127.0.0.1:{self.web_port}{path}"

    # -- Pushpin ------------------------------------------------------------
    def start_pushpin(self, timeout: float = 15) -> None:
        require("pushpin", "end-to-end tests run the real proxy")
        # planned from the stack's GRIP_URL exactly as runpushpin plans it from the environment's
        instance = pushpin.plan_instance(
            self.env["GRIP_URL"],
            instance_dir=self.base / "pushpin",
            rundir=self.run_dir,
            http_port=f"127.0.0.1:{self.client_port}",
            web=f"127.0.0.1:{self.web_port}",
            port_offset=self.port_offset,
            overrides=self.pushpin_overrides,
        )
        pushpin.check_ports_free(instance)
        pushpin.write_instance(ROOT / "pushpin" / "pushpin.conf", instance.settings, instance.conf, instance.web)
        log = self.base / "pushpin.log"
        self.pushpin = subprocess.Popen(
            pushpin.argv(instance),
            stdout=log.open("ab"),
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        wait_listening(self.client_port, timeout, self.pushpin, log)
        wait_listening(self.publish_port, timeout, self.pushpin, log)
        self.wait_routing(timeout)

    def production(self) -> Stack:
        """Run every process as the README's production section does: DEBUG off
        (no per-query logging, no debug cursor), plain HTTP on loopback. Benches use it."""
        self.env.update(
            DJANGO_DEBUG="0",
            DJANGO_SECRET_KEY="bench-" + "x" * 50,
            DJANGO_ALLOWED_HOSTS="127.0.0.1,localhost",
            DJANGO_HTTPS="0",
        )
        return self

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
                self.wsgi_app,
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

    def publish(self, channel: str, name: str, datas: list[str], interval: float = 0.0) -> list[float]:
        """Publish events from a separate process with the stack's settings, as a
        feed would; returns each publish call's start on the monotonic clock."""
        code = (
            "import json, sys, time\n"
            "from dashboards_live.contract import make_event\nfrom dashboards_live.publishing.delivery import publish\n"
            "args = json.loads(sys.stdin.read())\n"
            "out = []\n"
            "for i, data in enumerate(args['datas']):\n"
            "    if i: time.sleep(args['interval'])\n"
            "    out.append(time.monotonic())\n"
            "    publish([make_event(args['channel'], args['name'], data)])\n"
            "print(json.dumps(out))\n"
        )
        import json

        payload = json.dumps({"channel": channel, "name": name, "datas": datas, "interval": interval})
        result = self.manage("shell", "-c", code, input=payload.encode(), timeout=120)
        if result.returncode != 0:
            raise RuntimeError(f"publishing failed: {result.stderr}")
        return [float(t) for t in json.loads(result.stdout.strip().splitlines()[-1])]

    def sql(self, statement: str, params: tuple[object, ...] = ()) -> list[tuple[object, ...]]:
        """Run SQL on the stack's database (what the web process reads), committed;
        the rows it returns. Placeholders are `?` on either database."""
        if self.database == "postgres":
            import psycopg

            with psycopg.connect(self.database_url, autocommit=True) as conn:
                cursor = conn.execute(pyformat(statement) if params else statement, params or None)
                return [tuple(row) for row in cursor.fetchall()] if cursor.description else []
        import sqlite3

        with sqlite3.connect(self.db_path, timeout=20) as db:
            return list(db.execute(statement, params))

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

    def wait_routing(self, timeout: float = 10) -> None:
        """Until a stream request through Pushpin is answered. Pushpin opens its
        ports before its parts are connected: a first request may hang, get a 502
        (proxy not routing yet), a 500 (handler not taking holds yet) or a closed
        socket. With the web process down, any answer will do."""

        deadline = time.monotonic() + timeout
        while True:
            conn = http.client.HTTPConnection("127.0.0.1", self.client_port, timeout=2)
            try:
                # a held stream where the channel rules allow it, else a refusal
                # from Django: either way every part of Pushpin took part
                conn.request("GET", "/events/ready-check/")
                if conn.getresponse().status not in (500, 502) or self.web is None:
                    return
            except (OSError, http.client.HTTPException):
                pass
            finally:
                conn.close()
            if time.monotonic() > deadline:
                raise RuntimeError(f"Pushpin on port {self.client_port} did not route to Django within {timeout} s")
            time.sleep(0.1)

    def start(self) -> Stack:
        self.start_web()
        self.start_pushpin()
        return self

    def close(self) -> None:
        for proc in self.procs:
            stop(proc, signal.SIGKILL)
        self.stop_pushpin()
        self.stop_web()
