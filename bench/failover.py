"""How fast another host takes a feed over when the active one dies (runeventloop --ha).

Starts a throwaway PostgreSQL cluster, Pushpin and gunicorn (tests.support),
an SSE client on the feed's channel, and two `runeventloop --ha` processes
running one feed every 0.5 s. Each round it SIGKILLs the process that
publishes and times, at the SSE client, the first event from the other one;
then starts a new standby for the next round. It also counts grid ticks
published by two processes (must be 0).

    .venv/bin/python bench/failover.py                 # 10 rounds, lease 5 s: about 80 s
    .venv/bin/python bench/failover.py --rounds 5 --lease 2
"""

from __future__ import annotations

import argparse
import functools
import os
import re
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.support.postgres import start_cluster  # noqa: E402
from tests.support.sse import SSEClient, SSEEvent  # noqa: E402
from tests.support.stack import Stack  # noqa: E402

FEEDS = {"DASHBOARDS_FEED_MODULES": "tests.support.feeds_for_tests"}
INTERVAL = 0.5  # tests.support.feeds_for_tests.HA_EVERY


def ticks(events: list[SSEEvent]) -> list[tuple[int, int, float]]:
    out = []
    for e in events:
        pid, slot = re.search(r'stat-text">(\d+)<', e.data), re.search(r"slot (\d+)", e.data)
        if e.event == "ha" and pid and slot:
            out.append((int(pid.group(1)), int(slot.group(1)), e.received_at))
    return out


def other_after(holder: int, killed: float, events: list[SSEEvent]) -> bool:
    return any(p != holder and t > killed for p, _, t in ticks(events))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--lease", type=float, default=5.0, help="--ha-lease (default 5, runeventloop's default)")
    args = parser.parse_args()

    cluster = start_cluster()
    stack = Stack(Path(tempfile.mkdtemp(prefix="failover-")), database="postgres", cluster=cluster)
    takeovers: list[float] = []
    try:
        stack.start()

        def host() -> subprocess.Popen[bytes]:
            return stack.spawn(
                "runeventloop", "--ha", "--ha-lease", str(args.lease), "t_ha", "--status-every", "0", env=FEEDS
            )

        with SSEClient(stack.url("/events/hatest/"), timeout=3600) as client:
            hosts = {p.pid: p for p in (host(), host())}
            if not client.wait_for(lambda ev: len(ticks(ev)) >= 2, 30):
                raise SystemExit("no events from either host: is the stack up?")
            for _ in range(args.rounds):
                time.sleep(1.0)  # the standby is connected and trying
                holder = ticks(client.events)[-1][0]
                hosts.pop(holder).send_signal(signal.SIGKILL)
                killed = time.monotonic()
                deadline = killed + args.lease + 10
                took = None
                while time.monotonic() < deadline and took is None:
                    client.wait_for(functools.partial(other_after, holder, killed), 0.2)
                    later = [t for p, _, t in ticks(client.events) if p != holder and t > killed]
                    took = min(later) - killed if later else None
                if took is None:
                    raise SystemExit(f"nobody took over within {args.lease + 10:.0f} s")
                takeovers.append(took)
                new = host()
                hosts[new.pid] = new
            seen = ticks(client.events)
            for proc in hosts.values():
                proc.send_signal(signal.SIGTERM)
                proc.wait(15)
    finally:
        stack.close()
        cluster.close()

    by_slot: dict[int, set[int]] = {}
    for pid, slot, _ in seen:
        by_slot.setdefault(slot, set()).add(pid)
    doubled = sum(1 for pids in by_slot.values() if len(pids) > 1)
    goal = args.lease + 1.0
    load = os.getloadavg()[0]
    print(
        f"failover: {args.rounds} SIGKILLs of the active host, lease {args.lease:g} s, feed every {INTERVAL:g} s, "
        f"throwaway PostgreSQL cluster on loopback, load average {load:.2f}"
    )
    print()
    print("| kills | p50 s | max s | goal (max) | met? | ticks published | ticks by two hosts |")
    print("|-------|-------|-------|------------|------|-----------------|--------------------|")
    p50, worst = statistics.median(takeovers), max(takeovers)
    print(
        f"| {len(takeovers)} | {p50:.2f} | {worst:.2f} | <= lease + 1 = {goal:g} | "
        f"{'met' if worst <= goal else 'NOT met'} | {len(seen)} | {doubled} |"
    )
    print()
    print("each round: " + ", ".join(f"{t:.2f}" for t in takeovers))


if __name__ == "__main__":
    main()
