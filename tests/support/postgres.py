"""A throwaway PostgreSQL cluster for end-to-end tests (Debian's `postgresql` package).

`initdb` into a temporary folder, `postgres` on a loopback port with its unix
socket in that folder, durability off for speed; stopped by pid. PostgreSQL
refuses to run as root: as root the folder belongs to the `postgres` user that
Debian's package creates and the server runs as that user (Popen's `user=`, so
the pid we hold is the server's own); as anyone else it runs as that user.
`stop()` then `start()` again reuses the same data and port, and `pause()` /
`resume()` freeze and thaw the server and its backends (a database that hangs
instead of refusing).
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import signal
import subprocess
import tempfile
import time
from pathlib import Path

from tests.support.stack import free_port

SUPERUSER = "postgres"
SETTINGS = {
    # a test cluster: nothing here must survive a crash
    "fsync": "off",
    "synchronous_commit": "off",
    "full_page_writes": "off",
    # every Stack's gunicorn workers, publishers and the test process itself
    "max_connections": "200",
}


def bin_dir() -> Path | None:
    """The newest /usr/lib/postgresql/<version>/bin that has initdb and postgres, or None."""
    found = []
    for path in glob.glob("/usr/lib/postgresql/*/bin"):
        version = Path(path).parent.name
        if (Path(path) / "initdb").exists() and (Path(path) / "postgres").exists() and version.isdigit():
            found.append((int(version), Path(path)))
    return max(found)[1] if found else None


def require_binaries() -> Path:
    """Where initdb and postgres are; a loud skip (strict mode: a failure) when they are missing."""
    path = bin_dir()
    if path is None:
        import pytest

        message = (
            "POSTGRESQL IS NOT INSTALLED (integration tests run on PostgreSQL too): sudo apt-get install postgresql"
        )
        if os.environ.get("DASHBOARDS_TEST_STRICT") == "1":
            pytest.fail(message)
        pytest.skip(message)
    return path


class Cluster:
    """One PostgreSQL server: `init()` once, then `start()` / `stop()` as often as needed."""

    def __init__(self, binaries: Path, *, port: int | None = None, settings: dict[str, str] | None = None) -> None:
        self.binaries = binaries
        self.port = port or free_port()
        self.settings = {**SETTINGS, **(settings or {})}
        self.run_as = SUPERUSER if os.geteuid() == 0 else None
        # not pytest's tmp_path: as root that is a 0700 folder the postgres user cannot enter
        self.base = Path(tempfile.mkdtemp(prefix="pg-"))
        self.data_dir = self.base / "data"
        self.socket_dir = self.base  # a unix socket path holds at most 107 bytes
        self.log_path = self.base / "postgres.log"
        self.proc: subprocess.Popen[bytes] | None = None
        self.paused = False
        self._databases = 0
        if self.run_as is not None:
            entry = pwd.getpwnam(self.run_as)
            os.chown(self.base, entry.pw_uid, entry.pw_gid)

    # -- processes ------------------------------------------------------------
    def _popen(self, argv: list[str], **kwargs: object) -> subprocess.Popen[bytes]:
        env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LC_ALL": "C", "LANG": "C", "TZ": "UTC"}
        if self.run_as is not None:
            entry = pwd.getpwnam(self.run_as)
            env["HOME"] = str(self.base)
            kwargs.update(user=entry.pw_uid, group=entry.pw_gid, extra_groups=[])
        return subprocess.Popen(argv, cwd=self.base, env=env, **kwargs)  # type: ignore[call-overload,no-any-return]

    def init(self) -> Cluster:
        log = self.base / "initdb.log"
        with log.open("wb") as out:
            proc = self._popen(
                [
                    str(self.binaries / "initdb"),
                    "-D",
                    str(self.data_dir),
                    "-U",
                    SUPERUSER,
                    "--auth=trust",
                    "-E",
                    "UTF8",
                    "--no-locale",
                    "--no-sync",
                ],
                stdout=out,
                stderr=subprocess.STDOUT,
            )
            if proc.wait(120) != 0:
                raise RuntimeError(f"initdb failed with {proc.returncode}:\n{log.read_text()[-2000:]}")
        return self

    def start(self, timeout: float = 30) -> Cluster:
        if self.running:
            return self
        argv = [str(self.binaries / "postgres"), "-D", str(self.data_dir), "-k", str(self.socket_dir)]
        argv += ["-h", "127.0.0.1", "-p", str(self.port)]
        for name, value in self.settings.items():
            argv += ["-c", f"{name}={value}"]
        with self.log_path.open("ab") as log:
            # its own session: Ctrl-C in the terminal reaches pytest, not the server
            self.proc = self._popen(argv, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        self.paused = False
        self.wait_ready(timeout)
        return self

    def wait_ready(self, timeout: float = 30) -> None:
        """Until the server accepts connections (it listens before it has finished recovery)."""
        import psycopg

        deadline = time.monotonic() + timeout
        while True:
            if self.proc is not None and self.proc.poll() is not None:
                raise RuntimeError(f"postgres exited with {self.proc.returncode}:\n{self.log_tail()}")
            try:
                with psycopg.connect(self.url("postgres"), connect_timeout=2, autocommit=True) as conn:
                    conn.execute("SELECT 1")
                return
            except psycopg.OperationalError:
                if time.monotonic() > deadline:
                    raise RuntimeError(
                        f"postgres on 127.0.0.1:{self.port} not ready within {timeout} s:\n{self.log_tail()}"
                    ) from None
                time.sleep(0.05)

    def stop(self, timeout: float = 10) -> None:
        """Fast shutdown (SIGINT: aborts open transactions, closes connections), SIGKILL after `timeout`."""
        proc, self.proc = self.proc, None
        if proc is None or proc.poll() is not None:
            return
        if self.paused:
            self.resume(proc)
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            # the whole group: backends outlive a killed postmaster otherwise
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(5)

    def pause(self) -> None:
        """Freeze the server and every backend (SIGSTOP to its process group): connections hang."""
        if self.proc is not None and not self.paused:
            os.killpg(self.proc.pid, signal.SIGSTOP)
            self.paused = True

    def resume(self, proc: subprocess.Popen[bytes] | None = None) -> None:
        proc = proc or self.proc
        if proc is not None and self.paused:
            os.killpg(proc.pid, signal.SIGCONT)
            self.paused = False

    @property
    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def log_tail(self, size: int = 2000) -> str:
        return self.log_path.read_text(errors="replace")[-size:] if self.log_path.exists() else ""

    def close(self) -> None:
        self.stop()
        shutil.rmtree(self.base, ignore_errors=True)

    # -- databases --------------------------------------------------------------
    def url(self, name: str) -> str:
        return f"postgres://{SUPERUSER}@127.0.0.1:{self.port}/{name}"

    def create_database(self, name: str | None = None) -> str:
        """A new empty database (a fresh name when none is given); returns its name."""
        import psycopg
        from psycopg import sql

        if name is None:
            self._databases += 1
            name = f"test_{os.getpid()}_{self._databases}"
        with psycopg.connect(self.url("postgres"), autocommit=True) as conn:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        return name

    def __enter__(self) -> Cluster:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def start_cluster(**kwargs: object) -> Cluster:
    """A new initialised and started cluster (skips or fails as `require_binaries` says if none is installed)."""
    cluster = Cluster(require_binaries(), **kwargs)  # type: ignore[arg-type]
    try:
        return cluster.init().start()
    except BaseException:
        cluster.close()
        raise
