"""The loop's counters in Prometheus text format (`runeventloop --metrics-addr HOST:PORT`).

The collector reads the loop's own counters at scrape time, so the numbers on
/metrics are the ones in the status line: nothing is counted twice.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator

from prometheus_client import CollectorRegistry, ProcessCollector, start_http_server
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from dashboards_live.declaring.feeds import Feed
from dashboards_live.running.loop import EventLoop

LABELS = ["feed", "channel", "event"]
COUNTERS = {
    "ticks": "Values the feed produced and handed to delivery.",
    "events": "Events of the feed that Pushpin accepted.",
    "failures": "Ticks where the feed raised or its value could not be rendered.",
    "publish_failures": "Deliveries of the feed's events that failed (retried).",
    "skipped": "Grid ticks missed (loop late, or backing off after a failure).",
    "overruns": "Ticks where the feed took longer than its interval.",
    "superseded": "Events replaced by a newer value of the same component before delivery.",
    "standby": "Ticks this process did not run because another one held the feed (--ha).",
}


def parse_addr(raw: str) -> tuple[str, int]:
    """'127.0.0.1:9100' or '[::1]:9100' -> (host, port); ValueError otherwise."""
    host, sep, port = raw.rpartition(":")
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise ValueError(f"{raw!r} is not HOST:PORT (for example 127.0.0.1:9100)")
    return host, int(port)


class LoopCollector(Collector):
    def __init__(self, loop: EventLoop, wall_started: float) -> None:
        self.loop = loop
        self.wall_started = wall_started

    def collect(self) -> Iterator[Metric]:
        runs = list(self.loop.runs)
        for key, help_text in COUNTERS.items():
            family = CounterMetricFamily(f"dashboards_feed_{key}", help_text, labels=LABELS)
            for run in runs:
                family.add_metric(self._labels(run.feed), getattr(run.stats, key))
            yield family
        latency = GaugeMetricFamily(
            "dashboards_feed_last_publish_latency_seconds",
            "From the tick to Pushpin's answer, for the feed's last delivered event.",
            labels=LABELS,
        )
        interval = GaugeMetricFamily("dashboards_feed_interval_seconds", "The feed's schedule.", labels=LABELS)
        for run in runs:
            if run.stats.last_latency_ms is not None:
                latency.add_metric(self._labels(run.feed), run.stats.last_latency_ms / 1000)
            interval.add_metric(self._labels(run.feed), run.feed.interval)
        yield latency
        yield interval
        if any(run.stats.held is not None for run in runs):
            held = GaugeMetricFamily(
                "dashboards_feed_held", "1 while this process holds the feed's lease (--ha), else 0.", labels=LABELS
            )
            for run in runs:
                held.add_metric(self._labels(run.feed), 1.0 if run.stats.held else 0.0)
            yield held
        yield GaugeMetricFamily(
            "dashboards_loop_pending_events", "Events waiting for delivery (newest per component).", self.loop.pending
        )
        yield GaugeMetricFamily(
            "dashboards_loop_publish_failures_in_row",
            "Consecutive failed publish attempts (0 while Pushpin accepts).",
            self.loop.publish_errors_in_row,
        )
        yield GaugeMetricFamily(
            "dashboards_loop_start_time_seconds", "When the loop started (unix time).", self.wall_started
        )

    @staticmethod
    def _labels(feed: Feed) -> list[str]:
        return [feed.name, feed.channel, feed.event]


def serve(addr: tuple[str, int], loop: EventLoop) -> Callable[[], None]:
    """Serve the loop's /metrics on addr in a daemon thread; returns a function that stops it. Raises OSError."""
    registry = CollectorRegistry(auto_describe=True)
    registry.register(LoopCollector(loop, time.time()))
    ProcessCollector(registry=registry)
    return serve_registry(addr, registry)


def serve_registry(addr: tuple[str, int], registry: CollectorRegistry) -> Callable[[], None]:
    """Serve `registry` as /metrics on addr in a daemon thread; returns a function that stops it. Raises OSError."""
    server, thread = start_http_server(addr[1], addr=addr[0], registry=registry)

    def stop() -> None:
        server.shutdown()
        server.server_close()
        thread.join(1)

    return stop
