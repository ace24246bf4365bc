from __future__ import annotations

import signal
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from pathlib import Path

import pytest

from dashboards_live.errors import PushpinError
from dashboards_live.web.pushpinsupervisor import RUNNER_PID_FILE, Backoff, Supervisor, SystemProcesses
from tests.support.clock import SimClock

CHILDREN = ("condure", "zurl", "pushpin-proxy", "pushpin-handler")


class FakeRunner:
    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.status: int | None = None

    def poll(self) -> int | None:
        return self.status


class FakeProcesses:
    """Pushpin's runner and its four children as the pid files and /proc show them."""

    def __init__(self) -> None:
        self.next_pid = 100
        self.runners: list[FakeRunner] = []
        self.running: dict[int, str] = {}  # pid -> name
        self.pid_files: dict[str, int] = {}
        self.signals: list[tuple[str, int]] = []
        self.ignore_sigterm: set[str] = set()
        self.other: int | None = None
        self.refuse_spawn = False

    def _pid(self) -> int:
        self.next_pid += 1
        return self.next_pid

    def spawn(self, argv: Sequence[str]) -> FakeRunner:
        if self.refuse_spawn:
            raise PushpinError("cannot start pushpin: No such file or directory")
        runner = FakeRunner(self._pid())
        self.runners.append(runner)
        self.running[runner.pid] = "runner"
        self.pid_files["runner"] = runner.pid
        for name in CHILDREN:
            pid = self._pid()
            self.running[pid] = name
            self.pid_files[name] = pid
        return runner

    def leave_orphans(self) -> None:
        """What a runner killed on its own leaves: its children serving, their pid files."""
        for name in CHILDREN:
            pid = self._pid()
            self.running[pid] = name
            self.pid_files[name] = pid

    def pids(self) -> dict[str, int]:
        return dict(self.pid_files)

    def alive(self, pid: int) -> bool:
        return pid in self.running

    def exit(self, name: str, status: int = 1) -> None:
        """The named process exits; a runner whose child exits stops the others and exits 1, as Pushpin's does."""
        for pid, running in list(self.running.items()):
            if running == name:
                del self.running[pid]
                if name == "runner":
                    self.runners[-1].status = status
                else:
                    self.exit("runner", 1)
                    for child in CHILDREN:
                        self.exit(child)

    def kill(self, pid: int, sig: int) -> None:
        name = self.running.get(pid)
        if name is None:
            return
        self.signals.append((name, sig))
        if sig == signal.SIGTERM and name in self.ignore_sigterm:
            return
        del self.running[pid]
        if name == "runner":
            self.runners[-1].status = 0 if sig == signal.SIGTERM else -sig
            if sig == signal.SIGTERM:  # the runner stops its children
                for child in CHILDREN:
                    self.exit(child)

    def forget(self) -> None:
        self.pid_files.clear()

    def other_supervisor(self) -> int | None:
        return self.other


@pytest.fixture
def clock() -> SimClock:
    return SimClock()


@pytest.fixture
def procs() -> FakeProcesses:
    return FakeProcesses()


def supervisor(procs: FakeProcesses, clock: SimClock, log: list[str], **kwargs: object) -> Supervisor:
    return Supervisor(["pushpin", "--config", "x.conf"], procs, log=log.append, clock=clock, **kwargs)  # type: ignore[arg-type]


def test_backoff_doubles_from_half_a_second_to_thirty() -> None:
    assert [Backoff().delay(n) for n in range(1, 10)] == [0.5, 1, 2, 4, 8, 16, 30, 30, 30]


def test_a_child_that_exits_brings_pushpin_back_after_half_a_second(procs: FakeProcesses, clock: SimClock) -> None:
    log: list[str] = []
    sup = supervisor(procs, clock, log)
    t0 = clock.now()
    starts: list[float] = []
    spawn = procs.spawn
    procs.spawn = lambda argv: starts.append(clock.now()) or spawn(argv)  # type: ignore[method-assign,func-returns-value]
    clock.after(5, lambda: procs.exit("condure"))
    clock.after(20, sup.stop)
    sup.run()
    assert len(procs.runners) == 2
    # it crashed at +5; noticed within a poll, started again 0.5 s later
    assert starts[1] - t0 == pytest.approx(5.5, abs=0.25)
    assert len(log) == 1
    assert "restarting it in 0.5 s (restart 1)" in log[0]
    assert "exited" in log[0]


def test_a_runner_killed_on_its_own_has_its_children_ended_and_pushpin_restarted(
    procs: FakeProcesses, clock: SimClock
) -> None:
    log: list[str] = []
    sup = supervisor(procs, clock, log)

    def kill_runner_only() -> None:
        runner = procs.runners[-1]
        del procs.running[runner.pid]
        runner.status = -9

    clock.after(3, kill_runner_only)
    clock.after(10, sup.stop)
    sup.run()
    assert "the pushpin runner exited with status -9" in log[0]
    first_children = [name for name, sig in procs.signals[: len(CHILDREN)]]
    assert sorted(first_children) == sorted(CHILDREN)
    assert len(procs.runners) == 2
    assert set(procs.running.values()) == set()


def test_restarts_back_off_and_reset_after_a_stable_minute(procs: FakeProcesses, clock: SimClock) -> None:
    log: list[str] = []
    sup = supervisor(procs, clock, log)
    # crash every start at once, four times; then run 2 minutes; then crash again
    for at in (1, 2, 4, 8):
        clock.at(clock.t + at + 0.3 * at, lambda: procs.exit("zurl"))

    def later() -> None:
        procs.exit("zurl")

    clock.after(200, later)
    clock.after(260, sup.stop)
    sup.run()
    delays = [line.split("restarting it in ")[1].split(" s")[0] for line in log]
    assert delays[:4] == ["0.5", "1", "2", "4"]
    assert delays[-1] == "0.5"


def test_stop_during_the_backoff_returns_without_another_start(procs: FakeProcesses, clock: SimClock) -> None:
    log: list[str] = []
    sup = supervisor(procs, clock, log, backoff=Backoff(first=30))
    t0 = clock.now()
    clock.after(1, lambda: procs.exit("condure"))
    clock.after(3, sup.stop)
    sup.run()
    assert len(procs.runners) == 1
    assert clock.now() - t0 < 4
    assert procs.running == {}


def test_stop_terminates_the_runner_and_kills_it_if_it_does_not_exit(procs: FakeProcesses, clock: SimClock) -> None:
    procs.ignore_sigterm = {"runner", *CHILDREN}
    sup = supervisor(procs, clock, [])
    clock.after(1, sup.stop)
    sup.run()
    assert ("runner", signal.SIGTERM) in procs.signals
    assert ("runner", signal.SIGKILL) in procs.signals
    assert all((name, signal.SIGKILL) in procs.signals for name in CHILDREN)
    assert procs.running == {}
    assert procs.pid_files == {}


def test_orphans_of_a_killed_runner_are_ended_before_pushpin_starts(procs: FakeProcesses, clock: SimClock) -> None:
    procs.leave_orphans()
    orphans = set(procs.running)
    started_with: list[set[int]] = []
    spawn = procs.spawn
    procs.spawn = lambda argv: started_with.append(set(procs.running)) or spawn(argv)  # type: ignore[method-assign,func-returns-value]
    sup = supervisor(procs, clock, [])
    clock.after(1, sup.stop)
    sup.run()
    assert started_with == [set()]
    assert not orphans & set(procs.running)


def test_a_failed_first_start_is_raised_and_a_later_one_retried(procs: FakeProcesses, clock: SimClock) -> None:
    def busy() -> None:
        raise PushpinError("port(s) 7999 already in use")

    with pytest.raises(PushpinError, match="7999"):
        supervisor(procs, clock, [], before_start=busy).run()
    assert procs.runners == []

    log: list[str] = []
    checks: list[float] = []

    def busy_after_the_first() -> None:
        checks.append(clock.now())
        if len(checks) in (2, 3):
            raise PushpinError("port(s) 7999 already in use")

    sup = supervisor(procs, clock, log, before_start=busy_after_the_first)
    clock.after(1, lambda: procs.exit("condure"))
    clock.after(30, sup.stop)
    sup.run()
    assert len(procs.runners) == 2
    assert "7999 already in use; restarting it in 1 s (restart 2)" in log[1]


def test_another_live_runpushpin_on_the_instance_is_refused(procs: FakeProcesses, clock: SimClock) -> None:
    procs.other = 4242
    with pytest.raises(PushpinError, match="another runpushpin \\(pid 4242\\)"):
        supervisor(procs, clock, []).run()
    assert procs.runners == []


# -- the real processes ------------------------------------------------------


@pytest.fixture
def rundir(tmp_path: Path) -> Path:
    path = tmp_path / "run"
    path.mkdir()
    return path


@pytest.fixture
def sleepers(rundir: Path) -> Iterator[list[subprocess.Popen[bytes]]]:
    started: list[subprocess.Popen[bytes]] = []
    yield started
    for proc in started:
        proc.kill()
        proc.wait()


def sleeper(started: list[subprocess.Popen[bytes]], *args: str) -> subprocess.Popen[bytes]:
    proc = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)", *args])
    started.append(proc)
    return proc


def test_only_processes_naming_the_instance_are_ended(rundir: Path, sleepers: list[subprocess.Popen[bytes]]) -> None:
    ours = sleeper(sleepers, f"--config={rundir}/zurl.conf")
    stranger = sleeper(sleepers)  # e.g. a pid the system gave to something else after a crash
    (rundir / "zurl.pid").write_text(f"{ours.pid}\n")
    (rundir / "condure.pid").write_text(f"{stranger.pid}\n")
    processes = SystemProcesses(rundir, rundir.parent / "pushpin.conf")
    assert processes.pids() == {"zurl": ours.pid, "condure": stranger.pid}
    deadline = time.monotonic() + 5
    while not processes.alive(ours.pid):
        assert time.monotonic() < deadline, "the sleeper never showed its command line"
        time.sleep(0.01)
    assert not processes.alive(stranger.pid)
    Supervisor(["pushpin"], processes, log=print).clean_up()
    assert ours.wait(5) == -signal.SIGTERM
    assert stranger.poll() is None
    assert list(rundir.glob("*.pid")) == []


def test_the_runner_pid_file_is_written_and_read_as_the_runner(rundir: Path) -> None:
    processes = SystemProcesses(rundir, rundir / "x.conf")
    runner = processes.spawn([sys.executable, "-c", "pass", str(rundir / "x.conf")])
    try:
        assert (rundir / RUNNER_PID_FILE).read_text().strip() == str(runner.pid)
        assert processes.pids() == {"runner": runner.pid}
    finally:
        assert isinstance(runner, subprocess.Popen)
        runner.wait(5)
    assert not processes.alive(runner.pid)
    assert processes.other_supervisor() is None
