"""Feeds for the integration tests, loaded through DASHBOARDS_FEED_MODULES.

Each value carries the tick's number and CLOCK_MONOTONIC time (shared by all
processes on the machine), so a test can tell how fresh an event is.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable

from dashboards_live.declaring.components import Stat
from dashboards_live.declaring.feeds import feed

CHANNEL = "looptest"


def stamped(name: str) -> Callable[[], dict[str, str]]:
    numbers = itertools.count()

    def produce() -> dict[str, str]:
        return {"text": str(next(numbers)), "sub_text": f"{name} at {time.monotonic():.6f}"}

    produce.__name__ = name
    return produce


t_fast = feed(channel=CHANNEL, component=Stat("fast"), every=0.1)(stamped("t_fast"))
t_medium = feed(channel=CHANNEL, component=Stat("medium"), every=0.25)(stamped("t_medium"))
t_slow = feed(channel=CHANNEL, component=Stat("slow"), every=0.5)(stamped("t_slow"))
t_rapid = feed(channel=CHANNEL, component=Stat("rapid"), every=0.02)(stamped("t_rapid"))


@feed(channel=CHANNEL, component=Stat("broken"), every=0.1)
def t_broken() -> str:
    raise RuntimeError("this test feed always fails")


HA_EVERY = 0.5


@feed(channel="hatest", component=Stat("ha"), every=HA_EVERY)
def t_ha() -> dict[str, str]:
    """Which process ran which tick: the pid, and the tick's slot on the wall-clock grid."""
    import os

    return {"text": str(os.getpid()), "sub_text": f"slot {round(time.time() / HA_EVERY)}"}
