"""Fast feeds on the demo channel, for the every-publisher test (tests/integration/test_every_publisher_mix.py).

Loaded through DASHBOARDS_FEED_MODULES. Each value names its run (the
EVERY_PUBLISHER_RUN environment variable), its feed and its tick, so the test
can tell the loop's events from everyone else's. With GO set, the import says
it is ready (GO.loop-ready) and waits for the GO file, so that the loop's first
tick races the other publishers' first events.
"""

from __future__ import annotations

import itertools
import os
import time
from collections.abc import Callable
from pathlib import Path

from dashboards_live.declaring.components import Stat
from dashboards_live.declaring.feeds import feed

CHANNEL = "demo"  # the channel push() publishes the demo's components on
EVERY = 0.25
NAMES = tuple(f"mix_loop_{c}" for c in "abcdefghijklmnopqrst")


def ticking(name: str) -> Callable[[], dict[str, str]]:
    numbers = itertools.count()
    run = os.environ.get("EVERY_PUBLISHER_RUN", "")

    def produce() -> dict[str, str]:
        n = next(numbers)
        return {"text": str(n), "sub_text": f"m{run}-{name}-{n}"}

    produce.__name__ = name
    return produce


def wait_for_go(go: Path, timeout: float = 60) -> None:
    Path(f"{go}.loop-ready").touch()
    deadline = time.monotonic() + timeout
    while not go.exists() and time.monotonic() < deadline:
        time.sleep(0.005)


for _name in NAMES:
    feed(channel=CHANNEL, component=Stat(_name), every=EVERY)(ticking(_name))

if os.environ.get("GO"):
    wait_for_go(Path(os.environ["GO"]))
