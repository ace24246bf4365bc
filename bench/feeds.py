"""Feeds for bench.loop_throughput, shaped by the environment it sets.

BENCH_FEEDS feeds (default 100), each a Stat on BENCH_CHANNEL, together offering
BENCH_RATE events a second. Each value carries the CLOCK_MONOTONIC time it was
produced (shared by every process on the machine), so a listener can tell the
publish-to-receive latency.
"""

from __future__ import annotations

import itertools
import os
import time
from collections.abc import Callable

from dashboards_live.declaring.components import Stat
from dashboards_live.declaring.feeds import feed

FEEDS = int(os.environ.get("BENCH_FEEDS", "100"))
RATE = float(os.environ.get("BENCH_RATE", "1000"))
CHANNEL = os.environ.get("BENCH_CHANNEL", "bench")


def stamped() -> Callable[[], dict[str, str]]:
    numbers = itertools.count()
    return lambda: {"text": str(next(numbers)), "sub_text": f"at {time.monotonic():.6f}"}


for i in range(FEEDS):
    feed(channel=CHANNEL, component=Stat(f"b{i:03d}"), every=FEEDS / RATE, name=f"bench_{i:03d}")(stamped())
