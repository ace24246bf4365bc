"""Keep one Pushpin instance running: `runpushpin` starts it through a Supervisor.

Debian's `pushpin` runner starts condure, zurl, pushpin-proxy and
pushpin-handler and writes each one's pid file into the instance's rundir. When
any of them exits (condure has been seen to panic under a flood of dropped
streams, and the runner then takes everything down), the Supervisor stops the
rest and starts Pushpin again after a backoff, with one log line per restart.
A runner killed on its own leaves its children serving with the ports taken,
so before every start the Supervisor ends what the pid files name, once it has
checked that each process's command line names this instance's config file or
rundir (a pid the system gave to something else is left alone).

Time and processes are handed in (a Clock, a Processes), so unit tests run the
loop in simulated time with fakes.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from dashboards_live.clock import SYSTEM_CLOCK, Clock
from dashboards_live.errors import PushpinError

RUNNER_PID_FILE = "runpushpin-runner.pid"  # ours; Pushpin writes one per child beside it
POLL = 0.2  # seconds between looks at the processes; also how fast a stop is noticed
STOP_GRACE = 10.0  # seconds a process has to exit after SIGTERM before SIGKILL


class Proc(Protocol):
    pid: int

    def poll(self) -> int | None: ...


class Processes(Protocol):
    """What the Supervisor does to processes; SystemProcesses is the real one."""

    def spawn(self, argv: Sequence[str]) -> Proc: ...

    def pids(self) -> dict[str, int]:
        """Every process of this instance the pid files name (name -> pid), the runner's included."""
        ...

    def alive(self, pid: int) -> bool:
        """The pid runs and is this instance's (not a zombie, not a pid the system gave to another program)."""
        ...

    def kill(self, pid: int, sig: int) -> None: ...

    def forget(self) -> None:
        """Remove the pid files (everything they named has exited)."""
        ...

    def other_supervisor(self) -> int | None:
        """The pid of another live runpushpin that runs this instance's Pushpin, if any."""
        ...


@dataclass(frozen=True)
class Backoff:
    """0.5 s before the first restart, doubling to 30 s; back to 0.5 s after a run of a stable minute."""

    first: float = 0.5
    most: float = 30.0
    stable: float = 60.0

    def delay(self, failures: int) -> float:
        return min(self.first * 2.0 ** max(failures - 1, 0), self.most)


class Supervisor:
    def __init__(
        self,
        argv: Sequence[str],
        processes: Processes,
        *,
        log: Callable[[str], None],
        clock: Clock = SYSTEM_CLOCK,
        backoff: Backoff = Backoff(),
        before_start: Callable[[], None] = lambda: None,
    ) -> None:
        self.argv = list(argv)
        self.processes = processes
        self.log = log
        self.clock = clock
        self.backoff = backoff
        # e.g. a check that Pushpin's ports are free: a PushpinError skips this start
        self.before_start = before_start
        self.stopping = threading.Event()
        self.restarts = 0

    def stop(self) -> None:
        """Ask run() to stop Pushpin and return; safe from a signal handler."""
        self.stopping.set()

    def run(self) -> None:
        """Run Pushpin until stop(); restart it whenever one of its processes exits.

        A PushpinError before the first start (a port taken, pushpin missing)
        is raised; after that, a start that fails is retried with the backoff."""
        other = self.processes.other_supervisor()
        if other is not None:
            raise PushpinError(f"another runpushpin (pid {other}) runs this Pushpin instance")
        failures = 0
        first = True
        while not self.stopping.is_set():
            self.clean_up()
            started = self.clock.now()
            try:
                self.before_start()
                runner = self.processes.spawn(self.argv)
            except PushpinError as exc:
                if first:
                    raise
                what = str(exc)
            else:
                first = False
                what = self.watch(runner)
                self.stop_all(runner)
            if self.stopping.is_set():
                break
            failures = 1 if self.clock.now() - started >= self.backoff.stable else failures + 1
            delay = self.backoff.delay(failures)
            self.restarts += 1
            self.log(f"Pushpin: {what}; restarting it in {delay:g} s (restart {self.restarts})")
            self.pause(delay)
        self.clean_up()

    def watch(self, runner: Proc) -> str:
        """Until the runner or one of its children exits (what exited, as a phrase) or stop()."""
        seen: dict[str, int] = {}
        while not self.stopping.is_set():
            status = runner.poll()
            if status is not None:
                return f"the pushpin runner exited with status {status}"
            for name, pid in self.processes.pids().items():
                if name != "runner":
                    seen.setdefault(name, pid)
            for name, pid in seen.items():
                if not self.processes.alive(pid):
                    return f"{name} (pid {pid}) exited"
            self.clock.sleep(POLL)
        return "stopping"

    def stop_all(self, runner: Proc) -> None:
        """SIGTERM the runner (it stops its children), then SIGKILL whatever is left."""
        if runner.poll() is None:
            self.processes.kill(runner.pid, signal.SIGTERM)
            self._wait(lambda: runner.poll() is not None)
            if runner.poll() is None:
                self.processes.kill(runner.pid, signal.SIGKILL)
                self._wait(lambda: runner.poll() is not None)
        self.clean_up()

    def clean_up(self) -> None:
        """End what the pid files name (children of a runner killed on its own, or of this one)."""
        left = {name: pid for name, pid in self.processes.pids().items() if self.processes.alive(pid)}
        if left:
            for pid in left.values():
                self.processes.kill(pid, signal.SIGTERM)
            self._wait(lambda: not any(self.processes.alive(pid) for pid in left.values()))
            for pid in left.values():
                if self.processes.alive(pid):
                    self.processes.kill(pid, signal.SIGKILL)
            self._wait(lambda: not any(self.processes.alive(pid) for pid in left.values()))
        self.processes.forget()

    def pause(self, seconds: float) -> None:
        """Sleep in short slices, so a stop never waits for the backoff."""
        end = self.clock.now() + seconds
        while not self.stopping.is_set() and self.clock.now() < end:
            self.clock.sleep(min(POLL, end - self.clock.now()))

    def _wait(self, done: Callable[[], bool], timeout: float = STOP_GRACE) -> None:
        end = self.clock.now() + timeout
        while not done() and self.clock.now() < end:
            self.clock.sleep(0.05)


class SystemProcesses:
    """The real processes of one instance: its pid files live in `rundir`, and its
    processes' command lines name `conf` (the runner, proxy and handler) or `rundir`
    (condure's sockets, zurl's config)."""

    def __init__(self, rundir: Path, conf: Path) -> None:
        self.rundir = rundir
        self.markers = (str(rundir), str(conf))

    def spawn(self, argv: Sequence[str]) -> Proc:
        try:
            # its own session: a Ctrl-C reaches runpushpin, which stops Pushpin in order
            proc = subprocess.Popen(list(argv), start_new_session=True)
        except OSError as exc:
            raise PushpinError(f"cannot start {argv[0]}: {exc.strerror or exc}") from None
        try:
            (self.rundir / RUNNER_PID_FILE).write_text(f"{proc.pid}\n")
        except OSError as exc:
            proc.kill()
            proc.wait()
            raise PushpinError(f"cannot write {self.rundir / RUNNER_PID_FILE}: {exc.strerror or exc}") from None
        return proc

    def pids(self) -> dict[str, int]:
        found = {}
        for path in sorted(self.rundir.glob("*.pid")):
            try:
                pid = int(path.read_text().strip())
            except (OSError, ValueError):
                continue
            found["runner" if path.name == RUNNER_PID_FILE else path.name.removesuffix(".pid")] = pid
        return found

    def alive(self, pid: int) -> bool:
        if pid <= 1 or pid == os.getpid():
            return False
        try:
            # a zombie's command line is empty; so it is not alive either
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            return False
        return any(marker in cmdline for marker in self.markers)

    def other_supervisor(self) -> int | None:
        runner = self.pids().get("runner")
        if runner is None or not self.alive(runner):
            return None
        try:
            parent = int(Path(f"/proc/{runner}/stat").read_text().rpartition(")")[2].split()[1])
            cmdline = Path(f"/proc/{parent}/cmdline").read_bytes()
        except (OSError, ValueError, IndexError):
            return None
        # a runner whose runpushpin was killed belongs to init (or a subreaper) now
        return parent if parent != os.getpid() and b"runpushpin" in cmdline else None

    def kill(self, pid: int, sig: int) -> None:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(pid, sig)

    def forget(self) -> None:
        for path in self.rundir.glob("*.pid"):
            with contextlib.suppress(OSError):
                path.unlink()
