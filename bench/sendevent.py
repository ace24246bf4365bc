"""How long a shell's `manage.py sendevent` takes, against a bare `manage.py check`.

Starts its own Pushpin and gunicorn (tests.support.stack), keeps one real SSE
client listening, then alternates the commands so both see the same machine
load. For sendevent it measures, from the moment the process is started, the
event's arrival at the SSE client and the process's exit.

    .venv/bin/python bench/sendevent.py            # 15 rounds, about 25 s
    .venv/bin/python bench/sendevent.py --runs 30
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.support.sse import SSEClient  # noqa: E402
from tests.support.stack import PYTHON, Stack  # noqa: E402

CHANNEL = "bench"
GOAL = 0.7  # arrival within 0.7 x a bare check


def run(stack: Stack, *args: str) -> tuple[float, subprocess.CompletedProcess[bytes]]:
    began = time.monotonic()
    done = subprocess.run([PYTHON, "manage.py", *args], cwd=ROOT, env=stack.env, capture_output=True)
    return time.monotonic() - began, done


def sendevent(stack: Stack, client: SSEClient, token: str) -> tuple[float, float]:
    """Seconds from process start to the event's arrival, and to the process's exit."""
    began = time.monotonic()
    proc = subprocess.run(
        [PYTHON, "manage.py", "sendevent", CHANNEL, "tick", token],
        cwd=ROOT,
        env=stack.env,
        capture_output=True,
    )
    exited = time.monotonic()
    if proc.returncode != 0:
        raise SystemExit(f"sendevent failed: {proc.stderr.decode()}")
    events = client.wait_for(lambda evs: any(e.data == token for e in evs), 5)
    arrived = next((e.received_at for e in events if e.data == token), None)
    if arrived is None:
        raise SystemExit(f"event {token} never arrived")
    return arrived - began, exited - began


def listen(stack: Stack) -> SSEClient:
    """A client whose stream is open (Pushpin may accept before it can route)."""
    deadline = time.monotonic() + 10
    while True:
        try:
            client = SSEClient(stack.url(f"/events/{CHANNEL}/"))
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)
            continue
        if client.wait_for(lambda evs: any(e.event == "stream-open" for e in evs), 5):
            return client
        raise SystemExit(f"no stream-open from Pushpin (HTTP {client.status})")


def p90(values: list[float]) -> float:
    return statistics.quantiles(values, n=10, method="inclusive")[-1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=15, help="rounds (each: one check, one sendevent, one dry run)")
    opts = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="bench-sendevent-") as tmp:
        stack = Stack(Path(tmp))
        try:
            stack.start()
            with listen(stack) as client:
                for i in range(2):  # warm the page cache and the bytecode
                    run(stack, "check")
                    sendevent(stack, client, f"warm-{i}")
                check, dry, arrival, exit_ = [], [], [], []
                for i in range(opts.runs):
                    check.append(run(stack, "check")[0])
                    a, e = sendevent(stack, client, f"run-{i}")
                    arrival.append(a)
                    exit_.append(e)
                    took, done = run(stack, "sendevent", CHANNEL, "tick", "dry", "--dry-run")
                    assert done.returncode == 0, done.stderr
                    dry.append(took)
        finally:
            stack.close()

    base = statistics.median(check)
    rows = [
        ("manage.py check (bare), to exit", check),
        ("sendevent, start to arrival at SSE client", arrival),
        ("sendevent, start to exit", exit_),
        ("sendevent --dry-run, start to exit", dry),
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
    ratio = statistics.median(arrival) / base
    verdict = "met" if ratio <= GOAL else "NOT met"
    print()
    print(f"goal: arrival <= {GOAL} x check -> {ratio:.2f} x, {verdict}")


if __name__ == "__main__":
    main()
