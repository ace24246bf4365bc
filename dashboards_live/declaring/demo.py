"""The demo: a declared dashboard with every component kind, and feeds of random but plausible values."""

from __future__ import annotations

import random

from dashboards_live.declaring.components import Chart, Gauge, Stat, Table, Text
from dashboards_live.declaring.dashboards import Dashboard, Section
from dashboards_live.declaring.feeds import feed

ENDPOINTS = ("/api/orders", "/api/search", "/login", "/reports/monthly", "/api/cart", "/health")
DEPLOYS = ("payments 4.2.1", "search 2.9.0", "web 7.14.3", "worker 1.8.6")


class Demo(Dashboard):
    title = "Demo dashboard"
    channel = "demo"
    description = "Random values, published by python manage.py demo_feed."

    # keys as the first demo shipped them: sendevent examples and bookmarks use them
    sse_stat = Stat(title="CPU load", warn=70, critical=90)
    memory = Gauge(title="Memory used", min=0, max=100, unit="%", warn=75, critical=90)
    queue = Stat(title="Jobs waiting", warn=100, critical=1000, poll_rate=5)
    sse_chart = Chart(title="Requests per second", window="1m", unit="/s", width=2)
    latency = Chart(title="Latency", window=60, unit=" ms", series=["p50", "p99"], width=2)
    slowest = Table(title="Slowest endpoints", columns=["endpoint", "ms", "calls"], max_rows=5, width=2)
    notes = Text(title="Latest deploy")

    layout = [
        Section("Service", "sse_stat", "memory", "queue", "sse_chart"),
        Section("Requests", "latency", "slowest", "notes"),
    ]


class DemoSource:
    """Random but plausible values; `seed()` makes a run reproducible."""

    def __init__(self) -> None:
        self.rng = random.Random()
        self.seed(None)

    def seed(self, seed: int | None) -> None:
        self.rng.seed(seed)
        self.load: float | None = None
        self.rate = 120.0
        self.memory = 55.0
        self.jobs = 40
        self.ticks = 0

    def stat(self) -> dict[str, object]:
        previous = self.load
        self.load = round(self.rng.uniform(0, 100), 1)
        change = None if previous is None else round(self.load - previous, 1)
        return {"text": f"{self.load:.1f}%", "sub_text": "demo CPU load", "change": change}

    def chart(self) -> float:
        self.rate = max(0.0, self.rate + self.rng.gauss(0, 12))
        return round(self.rate, 1)

    def gauge(self) -> float:
        self.memory = min(99.0, max(20.0, self.memory + self.rng.gauss(0, 3)))
        return round(self.memory, 1)

    def queue(self) -> dict[str, object]:
        self.jobs = max(0, self.jobs + self.rng.randint(-15, 18))
        return {"text": f"{self.jobs:,}", "sub_text": "background jobs", "value": self.jobs}

    def latency(self) -> dict[str, float]:
        p50 = max(5.0, self.rng.gauss(40, 6))
        return {"p50": round(p50, 1), "p99": round(p50 * self.rng.uniform(2.5, 6), 1)}

    def slowest(self) -> list[list[object]]:
        rows = [[e, round(self.rng.lognormvariate(5, 0.6)), self.rng.randint(10, 5000)] for e in ENDPOINTS]
        return sorted(rows, key=lambda row: -float(row[1]))  # type: ignore[arg-type]

    def notes(self) -> str:
        self.ticks += 1
        deploy = DEPLOYS[(self.ticks // 10) % len(DEPLOYS)]
        return f"{deploy} rolled out to all hosts.\nNo errors since."


source = DemoSource()


@feed(Demo.sse_stat, every=1.0)
def demo_stat() -> dict[str, object]:
    return source.stat()


@feed(Demo.sse_chart, every=1.0)
def demo_chart() -> float:
    return source.chart()


@feed(Demo.memory, every=1.0)
def demo_memory() -> float:
    return source.gauge()


@feed(Demo.queue, every=1.0)
def demo_queue() -> dict[str, object]:
    return source.queue()


@feed(Demo.latency, every=1.0)
def demo_latency() -> dict[str, float]:
    return source.latency()


@feed(Demo.slowest, every=1.0)
def demo_slowest() -> list[list[object]]:
    return source.slowest()


@feed(Demo.notes, every=1.0)
def demo_notes() -> str:
    return source.notes()


DEMO_FEEDS = ("demo_stat", "demo_chart", "demo_memory", "demo_queue", "demo_latency", "demo_slowest", "demo_notes")

# the demo's first two components, under the names the first demo gave them
STAT, CHART = Demo.sse_stat, Demo.sse_chart
