"""The process behind `runpushpinstats`: read Pushpin's stats socket, keep who is watching, export it.

It subscribes to Pushpin's `stats_spec` (ZMQ PUB), adds the messages up
(pushpinstats), stores the open streams per channel for the pages (viewers)
and serves them to Prometheus beside Pushpin's message counters.

Pushpin says a channel's count again only every few `stats_subscription_ttl`
seconds, so for that long after the reader starts it has heard only of the
channels whose count changed: the pages get no count until then (`warmup`).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from prometheus_client import CollectorRegistry
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from dashboards_live import conf
from dashboards_live.clock import SYSTEM_CLOCK, Clock
from dashboards_live.errors import ConfigError
from dashboards_live.running.metrics import serve_registry
from dashboards_live.running.pushpinstats import BadStats, PushpinStats

logger = logging.getLogger(__name__)

# the socket name Pushpin's stats_spec gives inside its rundir (data/pushpin.conf)
SOCKET_NAME = "pushpin-stats"
# a change is stored at most this often; an unchanged count once per report
MIN_STORE_INTERVAL = 1.0
# stored counts stay current this many report intervals without a new report
REPORTS_TO_EXPIRY = 3
# a wrong --stats-spec (or a Pushpin that is down) is silence: say so after this long
QUIET_WARNING = 60.0


def default_spec() -> str:
    """The stats socket of the Pushpin `runpushpin` runs with the default folders."""
    return f"ipc://{conf.var_dir() / 'pushpin' / 'run' / SOCKET_NAME}"


def config_seconds(template: Path, key: str) -> float | None:
    """A `key=N` of a Pushpin config (e.g. stats_subscription_ttl), or None if it is not there."""
    for line in template.read_text().splitlines():
        name, sep, value = line.strip().partition("=")
        if sep and name == key and value.strip().isdigit():
            return float(value)
    return None


@dataclass(frozen=True)
class Snapshot:
    """What the pages are told: open streams per channel, Pushpin's connections, and until when it holds."""

    counts: dict[str, int]
    connections: int
    expires: datetime


Store = Callable[[Snapshot], None]


class StatsReader:
    """Adds up stats messages and decides when the pages' copy is stored; no I/O of its own.

    `store` receives each snapshot to keep (the Viewers table in production).
    Every method may be called from the metrics thread too: one lock guards the counts.
    """

    def __init__(
        self,
        store: Store,
        *,
        warmup: float,
        clock: Clock = SYSTEM_CLOCK,
        wall: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.stats = PushpinStats()
        self.store = store
        self.clock = clock
        self.wall = wall
        self.lock = threading.Lock()
        self.started = clock.now()
        self.warm_at = self.started + warmup
        self.last_stored: tuple[dict[str, int], int] | None = None
        self.stored_at = float("-inf")
        self.report_pending = False
        self.bad = 0
        self.last_report_wall: float | None = None

    @property
    def warm(self) -> bool:
        return self.clock.now() >= self.warm_at

    def take(self, frame: bytes) -> None:
        """One message from the stats socket. A bad one is counted and logged (the first only), never fatal."""
        with self.lock:
            try:
                kind = self.stats.feed(frame, self.clock.now())
            except BadStats as exc:
                self.bad += 1
                if self.bad == 1:
                    logger.warning("runpushpinstats: ignoring a message Pushpin's stats socket sent: %s", exc)
                return
            if kind == "report":
                self.report_pending = True
                self.last_report_wall = self.wall().timestamp()

    def current(self) -> tuple[dict[str, int], int]:
        with self.lock:
            now = self.clock.now()
            return self.stats.watching(now), self.stats.connections(now)

    def tick(self) -> Snapshot | None:
        """Store the counts if they changed (at most once a second) or a report came; returns what was stored."""
        if not self.warm:
            return None
        counts, connections = self.current()
        now = self.clock.now()
        changed = (counts, connections) != self.last_stored
        if not (changed or self.report_pending) or now - self.stored_at < MIN_STORE_INTERVAL:
            return None
        with self.lock:
            interval = self.stats.report_interval
            self.report_pending = False
        snapshot = Snapshot(counts, connections, self.wall() + timedelta(seconds=REPORTS_TO_EXPIRY * interval))
        self.stored_at = now
        try:
            self.store(snapshot)
        except Exception:
            # the database may be back by the next try; the counts stay in memory meanwhile
            logger.exception("runpushpinstats: storing the viewer counts failed (trying again)")
            return None
        self.last_stored = (counts, connections)
        return snapshot


class PushpinCollector(Collector):
    """Pushpin's statistics in Prometheus text format, read from the reader at scrape time."""

    def __init__(self, reader: StatsReader) -> None:
        self.reader = reader

    def collect(self) -> Iterator[Metric]:
        counts, connections = self.reader.current()
        totals = self.reader.stats.totals
        yield GaugeMetricFamily(
            "pushpin_connections",
            "Client connections Pushpin held: the most open during its last report interval, over every Pushpin.",
            connections,
        )
        subscribers = GaugeMetricFamily(
            "pushpin_channel_subscribers",
            "Open streams on the channel (viewers), over every Pushpin; none until the reader has warmed up.",
            labels=["channel"],
        )
        if self.reader.warm:
            for channel, count in counts.items():
                subscribers.add_metric([channel], count)
        yield subscribers
        yield CounterMetricFamily(
            "pushpin_messages_published", "Messages published to Pushpin (since this reader started).", totals.published
        )
        yield CounterMetricFamily(
            "pushpin_messages_delivered",
            "Messages Pushpin delivered to clients, one per client (since this reader started).",
            totals.delivered,
        )
        yield CounterMetricFamily(
            "pushpin_connection_minutes", "Minutes of client connections Pushpin held.", totals.connection_minutes
        )
        yield CounterMetricFamily(
            "pushpin_stats_bad_messages", "Stats messages the reader could not read (ignored).", self.reader.bad
        )
        if self.reader.last_report_wall is not None:
            yield GaugeMetricFamily(
                "pushpin_stats_last_report_timestamp_seconds",
                "When the last report came from Pushpin (unix time): old means Pushpin or its stats are down.",
                self.reader.last_report_wall,
            )


def serve(addr: tuple[str, int], reader: StatsReader) -> Callable[[], None]:
    """Serve /metrics on addr in a daemon thread; returns a function that stops it. Raises OSError."""
    registry = CollectorRegistry(auto_describe=True)
    registry.register(PushpinCollector(reader))
    return serve_registry(addr, registry)


def run(specs: list[str], reader: StatsReader, should_stop: Callable[[], bool], poll: float = 0.25) -> int:
    """Read the stats sockets until should_stop(); returns how many messages came.

    A spec ZMQ cannot connect to is a ConfigError. Pushpin need not be running:
    ZMQ connects when it starts, and again after a restart."""
    import zmq

    context: zmq.Context[zmq.Socket[bytes]] = zmq.Context.instance()
    socket = context.socket(zmq.SUB)
    socket.setsockopt(zmq.LINGER, 0)
    socket.setsockopt(zmq.SUBSCRIBE, b"")
    received = 0
    try:
        for spec in specs:
            try:
                socket.connect(spec)
            except zmq.ZMQError as exc:
                raise ConfigError(
                    "--stats-spec", f"{spec!r}: {exc} (e.g. ipc:///path/pushpin-stats or tcp://HOST:PORT)"
                ) from None
        heard = reader.clock.now()
        warned = False
        while not should_stop():
            if socket.poll(int(poll * 1000)):
                # Pushpin sends each statistic as one frame
                while True:
                    try:
                        frame = socket.recv(zmq.NOBLOCK)
                    except zmq.Again:
                        break
                    reader.take(frame)
                    received += 1
                heard, warned = reader.clock.now(), False
            elif not warned and reader.clock.now() - heard > QUIET_WARNING:
                logger.warning(
                    "runpushpinstats: nothing from %s for %.0f s: is Pushpin running, with this stats_spec, "
                    "and may this user open its socket?",
                    ", ".join(specs),
                    QUIET_WARNING,
                )
                warned = True
            reader.tick()
    finally:
        socket.close()
    return received


def counts_line(counts: Mapping[str, int], connections: int) -> str:
    watched = ", ".join(f"{channel} {count}" for channel, count in counts.items()) or "nobody on any channel"
    return f"{connections} connection(s); watching: {watched}"
