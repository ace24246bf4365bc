"""The demo feeds: random values for the demo dashboard, declared like any feed."""

from __future__ import annotations

import random

from dashboards_live.dashboards import DEMO
from dashboards_live.feeds import feed

STAT, CHART = DEMO.components
DEMO_FEEDS = ("demo_stat", "demo_chart")


class DemoSource:
    """Random but plausible values; `seed()` makes a run reproducible."""

    def __init__(self) -> None:
        self.rng = random.Random()
        self.load: float | None = None
        self.rate = 120.0

    def seed(self, seed: int | None) -> None:
        self.rng.seed(seed)
        self.load = None
        self.rate = 120.0

    def stat(self) -> dict[str, object]:
        previous = self.load
        self.load = round(self.rng.uniform(0, 100), 1)
        change = None if previous is None else round(self.load - previous, 1)
        return {"text": f"{self.load:.1f}%", "sub_text": "demo CPU load", "change": change}

    def chart(self) -> float:
        self.rate = max(0.0, self.rate + self.rng.gauss(0, 12))
        return round(self.rate, 1)


source = DemoSource()


@feed(channel=DEMO.channel, component=STAT, every=1.0)
def demo_stat() -> dict[str, object]:
    return source.stat()


@feed(channel=DEMO.channel, component=CHART, every=1.0)
def demo_chart() -> float:
    return source.chart()
