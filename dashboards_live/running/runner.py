"""Running feeds as a service: the one code path behind runeventloop and demo_feed.

It wires the loop to its surroundings: logging on stderr at the asked verbosity,
status lines (or a live line on a terminal), systemd notifications, the
Prometheus endpoint and the stop signals. The loop itself knows none of them.
"""

from __future__ import annotations

import logging
import math
import os
import signal
import sys
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from types import FrameType
from typing import Any, TextIO

from dashboards_live.declaring.feeds import Feed
from dashboards_live.errors import PublishError
from dashboards_live.publishing.delivery import DeliveryEngine
from dashboards_live.publishing.push import stored_states
from dashboards_live.running import ha, metrics, status
from dashboards_live.running.loop import EventLoop, LoopSummary
from dashboards_live.running.systemd import Notifier

logger = logging.getLogger("dashboards_live.running.runner")
status_logger = logging.getLogger("dashboards_live.running.status")

LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
LEVELS = {0: logging.WARNING, 1: logging.INFO, 2: logging.DEBUG, 3: logging.DEBUG}
LIVE_EVERY = 1.0  # seconds between redraws of the live line
SYSTEMD_STATUS_EVERY = 5.0  # seconds between STATUS= updates


class MetricsUnavailable(RuntimeError):
    """The metrics endpoint could not listen on its address."""


@dataclass(frozen=True)
class RunOptions:
    iterations: int | None = None
    duration: float | None = None
    status_every: float = 60.0
    metrics_addr: tuple[str, int] | None = None
    verbosity: int = 1
    ha_lease: float | None = None  # --ha: seconds a dead holder keeps its feeds at most


def stored_state(feed: Feed) -> Any:
    """The feed's component state as last stored (by this host or another), for components that build on it."""
    from django.db import DatabaseError

    try:
        return stored_states([(feed.channel, feed.component)]).get((feed.channel, feed.event))
    except DatabaseError as exc:
        logger.warning("feed %s starts from an empty state: the database did not answer (%s)", feed.name, exc)
        return None


def wall_phase(feed: Feed) -> float:
    """Where on its interval a feed's ticks fall: the wall-clock grid, the same on every host."""
    return time.time() % feed.interval


def configure_logging(verbosity: int, stream: TextIO, *, live: bool) -> status.LiveLine | None:
    """Logs to `stream` with timestamps and levels: -v 0 warnings and errors, 1 info, 2 and 3 debug.

    At 3 the other libraries' loggers (Django, pubcontrol, ...) print too. On a
    terminal with `live`, records print above a live status line.
    """
    level = LEVELS[max(0, min(verbosity, 3))]
    package = logging.getLogger("dashboards_live")
    package.setLevel(level)
    if not package.handlers:
        handler = logging.StreamHandler(stream)
        handler.setFormatter(logging.Formatter(LOG_FORMAT))
        package.addHandler(handler)
        package.propagate = False
    root = logging.getLogger()
    if verbosity >= 3 and not root.handlers:
        handler = logging.StreamHandler(stream)
        handler.setFormatter(logging.Formatter(LOG_FORMAT))
        root.addHandler(handler)
        root.setLevel(logging.DEBUG)
    line = status.LiveLine(stream) if live else None
    if line is not None:
        for logger_ in (package, root):
            for existing in logger_.handlers:
                if isinstance(existing, logging.StreamHandler) and existing.stream in (stream, sys.stderr):
                    existing.setStream(line)
    return line


class Reporter:
    """The scheduler's heartbeat: watchdog pings, STATUS=, and status output, each at its own pace."""

    def __init__(
        self,
        loop: EventLoop,
        notifier: Notifier,
        *,
        status_every: float,
        live: status.LiveLine | None,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.loop = loop
        self.notifier = notifier
        self.live = live
        self.status_every = LIVE_EVERY if live else status_every
        start = monotonic()
        self.next_status = start + self.status_every if self.status_every > 0 else math.inf
        self.next_systemd = start + SYSTEMD_STATUS_EVERY if notifier.enabled else math.inf

    def __call__(self, now: float) -> None:
        self.notifier.heartbeat(now)
        if now >= self.next_systemd:
            self.next_systemd = now + SYSTEMD_STATUS_EVERY
            self.notifier.status(status.totals(self.loop.stats, self.loop.pending))
        if now >= self.next_status:
            # the next one on its own grid: a late status line does not shift the rest
            self.next_status += self.status_every * max(1, math.floor((now - self.next_status) / self.status_every) + 1)
            elapsed = now - self.loop.started_at
            if self.live is not None:
                self.live.show(status.live_line(self.loop.stats, self.loop.pending, elapsed, self.live.width))
            else:
                status_logger.info("%s", status.summary_line(self.loop.stats, self.loop.pending, elapsed))

    def stopping(self) -> None:
        self.notifier.stopping(f"stopping: {status.totals(self.loop.stats, self.loop.pending)}")
        if self.live is not None:
            self.live.clear()


def describe(feeds: Sequence[Feed]) -> str:
    return ", ".join(f"{f.name} every {f.interval:g} s" for f in feeds)


# the signals that ask for a clean stop: SIGHUP is a closed terminal (or a
# careless `kill -HUP`), which must not end the loop without its summary
STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT, signal.SIGHUP)


def install_stop_handlers(stop: Callable[[], None]) -> None:
    """SIGTERM, SIGHUP and SIGINT ask for a clean stop; a second SIGINT exits at once."""
    interrupted = False

    def on_term(signum: int, frame: FrameType | None) -> None:
        stop()

    def on_hup(signum: int, frame: FrameType | None) -> None:
        logger.warning("SIGHUP (the terminal closed?): stopping cleanly, as on SIGTERM")
        stop()

    def on_int(signum: int, frame: FrameType | None) -> None:
        nonlocal interrupted
        if interrupted:
            sys.stderr.write("Interrupted twice: exiting without waiting.\n")
            os._exit(130)
        interrupted = True
        stop()

    signal.signal(signal.SIGTERM, on_term)
    signal.signal(signal.SIGINT, on_int)
    signal.signal(signal.SIGHUP, on_hup)


def run_feeds(
    feeds: Sequence[Feed],
    engine: DeliveryEngine,
    options: RunOptions,
    *,
    stream: TextIO | None = None,
    notifier: Notifier | None = None,
) -> LoopSummary:
    """Run the feeds until stopped (SIGTERM, SIGHUP, SIGINT) or until the bounds in `options`."""
    stream = sys.stderr if stream is None else stream
    live = configure_logging(
        options.verbosity,
        stream,
        live=options.status_every > 0 and options.verbosity >= 1 and stream.isatty(),
    )
    notifier = Notifier() if notifier is None else notifier
    leases: ha.Leases | None = None
    if options.ha_lease is not None:
        leases = ha.Leases.for_feeds(feeds, ha.connector(options.ha_lease), lease=options.ha_lease)
        leases.refresh()  # the first host up takes its feeds before the first tick
    loop = EventLoop(
        feeds,
        engine,
        iterations=options.iterations,
        duration=options.duration,
        # feeds are user code that may use the database for months on end: the
        # store drops this thread's stale connections before each tick too
        before_tick=engine.store.refresh,
        gate=leases,
        phase=wall_phase if leases is not None else None,
        initial_state=stored_state,
    )
    reporter = Reporter(loop, notifier, status_every=options.status_every, live=live)
    loop.on_heartbeat = reporter
    loop.on_stop = reporter.stopping
    stop_metrics: Callable[[], None] | None = None
    if options.metrics_addr is not None:
        host, port = options.metrics_addr
        try:
            stop_metrics = metrics.serve(options.metrics_addr, loop)
        except OSError as exc:
            raise MetricsUnavailable(f"cannot serve metrics on {host}:{port}: {exc.strerror or exc}") from None
        logger.info("metrics on http://%s/metrics", f"[{host}]:{port}" if ":" in host else f"{host}:{port}")
    previous = {sig: signal.getsignal(sig) for sig in STOP_SIGNALS}
    install_stop_handlers(loop.request_stop)
    logger.info("running %d feed(s): %s", len(feeds), describe(feeds))
    stop_leases = threading.Event()
    if leases is not None:
        logger.info(
            "--ha: lease %g s; holding %s", options.ha_lease, ", ".join(leases.held()) or "nothing yet (standby)"
        )
        threading.Thread(target=leases.run, args=(stop_leases,), name="leases", daemon=True).start()
    notifier.ready(f"running {len(feeds)} feed(s)")
    try:
        summary = loop.run()
    finally:
        stop_leases.set()
        if leases is not None:
            leases.release()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        if stop_metrics is not None:
            stop_metrics()
        notifier.close()
    return summary


def wait_for_pushpin(engine: DeliveryEngine, wait: float) -> None:
    """Return once Pushpin answers; raise PublishError after `wait` seconds."""
    deadline = time.monotonic() + wait
    while True:
        try:
            engine.ping()
            return
        except PublishError:
            if time.monotonic() >= deadline:
                raise
            time.sleep(0.2)
