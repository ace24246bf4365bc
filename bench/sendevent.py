"""How long a shell's `manage.py sendevent` takes, against a bare `manage.py check`.

Starts its own Pushpin and gunicorn (tests.support.stack) and a real SSE client
listening in a process of its own (so its timestamps never wait on this one),
then runs the commands in a shuffled order each round so all see the same
machine load. For sendevent it measures, from the moment the process is
started, the event's arrival at the SSE client and the process's exit.
Timestamps are CLOCK_MONOTONIC, shared by all processes.

    .venv/bin/python bench/sendevent.py            # 20 rounds, about 30 s
    .venv/bin/python bench/sendevent.py --runs 40
"""

from __future__ import annotations

import argparse
import os
import queue
import random
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.support.sse import SSEClient  # noqa: E402
from tests.support.stack import PYTHON, Stack  # noqa: E402

CHANNEL = "bench"
GOAL = 0.7  # arrival within 0.7 x a bare check


def listen(url: str) -> None:
    """The listener process: one line per event, `<monotonic> <data>`."""
    client = SSEClient(url, timeout=3600)
    print("ready" if client.status == 200 else f"HTTP {client.status}", flush=True)
    while (event := client.queue.get()) is not None:
        print(f"{event.received_at!r} {event.data}", flush=True)


class Listener:
    def __init__(self, stack: Stack) -> None:
        self.proc = subprocess.Popen(
            [PYTHON, __file__, "--listen", stack.url(f"/events/{CHANNEL}/")],
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self.proc.stdout is not None
        first = self.proc.stdout.readline().strip()
        if first != "ready":
            raise SystemExit(f"the SSE listener could not connect: {first}")
        self.arrivals: queue.Queue[tuple[str, float]] = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            stamp, _, data = line.rstrip("\n").partition(" ")
            self.arrivals.put((data, float(stamp)))

    def arrival_of(self, data: str, timeout: float = 5) -> float:
        deadline = time.monotonic() + timeout
        while True:
            got, stamp = self.arrivals.get(timeout=max(deadline - time.monotonic(), 0.01))
            if got == data:
                return stamp

    def close(self) -> None:
        self.proc.kill()
        self.proc.wait()


def run(stack: Stack, *args: str) -> tuple[float, float]:
    """Start and exit times of `manage.py ARGS`."""
    began = time.monotonic()
    done = subprocess.run([PYTHON, "manage.py", *args], cwd=ROOT, env=stack.env, capture_output=True)
    exited = time.monotonic()
    if done.returncode != 0:
        raise SystemExit(f"manage.py {' '.join(args)} failed: {done.stderr.decode()}")
    return began, exited


def p90(values: list[float]) -> float:
    return statistics.quantiles(values, n=10, method="inclusive")[-1]


def measure(stack: Stack, runs: int) -> dict[str, list[float]]:
    listener = Listener(stack)
    out: dict[str, list[float]] = {"check": [], "arrival": [], "exit": [], "dry": []}
    try:
        for i in range(-2, runs):  # two rounds to warm the page cache first
            steps = ["check", "send", "dry"]
            random.shuffle(steps)
            for step in steps:
                if step == "check":
                    began, exited = run(stack, "check")
                    if i >= 0:
                        out["check"].append(exited - began)
                elif step == "dry":
                    began, exited = run(stack, "sendevent", CHANNEL, "tick", "dry", "--dry-run")
                    if i >= 0:
                        out["dry"].append(exited - began)
                else:
                    token = f"run-{i}"
                    began, exited = run(stack, "sendevent", CHANNEL, "tick", token)
                    arrived = listener.arrival_of(token)
                    if i >= 0:
                        out["arrival"].append(arrived - began)
                        out["exit"].append(exited - began)
    finally:
        listener.close()
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=20, help="rounds (each: one check, one sendevent, one dry run)")
    parser.add_argument("--listen", help=argparse.SUPPRESS)
    opts = parser.parse_args()
    if opts.listen:
        listen(opts.listen)
        return

    with tempfile.TemporaryDirectory(prefix="bench-sendevent-") as tmp:
        stack = Stack(Path(tmp))
        try:
            stack.start()
            results = measure(stack, opts.runs)
        finally:
            stack.close()

    base = statistics.median(results["check"])
    rows = [
        ("manage.py check (bare), to exit", results["check"]),
        ("sendevent, start to arrival at SSE client", results["arrival"]),
        ("sendevent, start to exit", results["exit"]),
        ("sendevent --dry-run, start to exit", results["dry"]),
    ]
    bytecode = "off (PYTHONDONTWRITEBYTECODE)" if os.environ.get("PYTHONDONTWRITEBYTECODE") else "on"
    print(
        f"sendevent benchmark: {opts.runs} rounds, Python {sys.version.split()[0]}, "
        f"{os.cpu_count()} CPUs, bytecode cache {bytecode}, real Pushpin + gunicorn + SSE client"
    )
    print()
    print(f"| {'measurement':<42} | median  | p90     | median / check |")
    print(f"|{'-' * 44}|---------|---------|----------------|")
    for name, values in rows:
        med = statistics.median(values)
        print(f"| {name:<42} | {med * 1000:4.0f} ms | {p90(values) * 1000:4.0f} ms | {med / base:14.2f} |")
    ratio = statistics.median(results["arrival"]) / base
    verdict = "met" if ratio <= GOAL else "NOT met"
    print()
    print(f"goal: arrival <= {GOAL} x check -> {ratio:.2f} x, {verdict}")


if __name__ == "__main__":
    main()
