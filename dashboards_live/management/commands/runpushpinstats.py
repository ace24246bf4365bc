from __future__ import annotations

import signal
from argparse import ArgumentParser
from types import FrameType
from typing import Any

from django.core.management.base import BaseCommand, CommandError
from django.db import DatabaseError

from dashboards_live.management.base import EXIT_RUNTIME, exit_codes
from dashboards_live.management.loopcommand import host_port, positive_float, seconds_or_zero
from dashboards_live.publishing.storage import check_database
from dashboards_live.running import statsreader, viewers
from dashboards_live.web import pushpin


class Command(BaseCommand):
    help = (
        "Read Pushpin's statistics until stopped (SIGTERM or SIGINT): keep who is watching each channel for the "
        'pages ("3 watching") and serve Pushpin\'s connections, viewers and messages to Prometheus.\n'
        "Examples: runpushpinstats; runpushpinstats --metrics-addr 127.0.0.1:9101; "
        "runpushpinstats --stats-spec tcp://pushpin-1:5564 --stats-spec tcp://pushpin-2:5564"
    )

    # it checks the database itself; the web process's checks are not its business
    requires_system_checks: list[str] = []

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument(
            "--stats-spec",
            action="append",
            dest="specs",
            metavar="SPEC",
            help="Pushpin's stats_spec to read (repeat for several Pushpins; default: the one runpushpin runs, "
            f"{statsreader.default_spec()})",
        )
        parser.add_argument(
            "--metrics-addr",
            type=host_port,
            default=None,
            metavar="HOST:PORT",
            help="serve Prometheus metrics on http://HOST:PORT/metrics (e.g. 127.0.0.1:9101)",
        )
        parser.add_argument(
            "--warmup",
            type=seconds_or_zero,
            default=None,
            metavar="SECONDS",
            help="store no count until this long after starting, while Pushpin repeats every channel's "
            "(default: stats_subscription_ttl of the Pushpin config)",
        )
        parser.add_argument(
            "--duration", type=positive_float, default=None, help="stop after SECONDS (default: run until stopped)"
        )

    def handle(
        self,
        *,
        specs: list[str] | None,
        metrics_addr: tuple[str, int] | None,
        warmup: float | None,
        duration: float | None,
        **options: Any,
    ) -> str:
        with exit_codes():
            check_database()
            viewers.check()
            if warmup is None:
                warmup = statsreader.config_seconds(pushpin.shipped_template(), "stats_subscription_ttl") or 0.0
        specs = specs or [statsreader.default_spec()]
        reader = statsreader.StatsReader(self.store, warmup=warmup)
        self.verbosity = int(options["verbosity"])
        stop_metrics = None
        if metrics_addr is not None:
            try:
                stop_metrics = statsreader.serve(metrics_addr, reader)
            except OSError as exc:
                raise CommandError(
                    f"--metrics-addr {metrics_addr[0]}:{metrics_addr[1]}: {exc.strerror or exc}",
                    returncode=EXIT_RUNTIME,
                ) from None
        self.shutdown = False
        deadline = None if duration is None else reader.clock.now() + duration
        previous = {sig: signal.signal(sig, self.on_signal) for sig in (signal.SIGTERM, signal.SIGINT)}
        if self.verbosity >= 1:
            self.stderr.write(f"runpushpinstats: reading {', '.join(specs)}; counts stored after {warmup:g} s")
        try:
            with exit_codes():
                received = statsreader.run(
                    specs,
                    reader,
                    lambda: self.shutdown or (deadline is not None and reader.clock.now() >= deadline),
                )
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)
            if stop_metrics is not None:
                stop_metrics()
            if reader.last_stored is not None:
                self.forget()
        return f"runpushpinstats: {received} messages read. Done." if self.verbosity >= 1 else ""

    def on_signal(self, signum: int, frame: FrameType | None) -> None:
        self.shutdown = True

    def forget(self) -> None:
        """What this reader said stops being current with it."""
        try:
            viewers.clear()
        except DatabaseError as exc:
            self.stderr.write(f"runpushpinstats: could not clear the viewer counts ({exc}); they expire by themselves")

    def store(self, snapshot: statsreader.Snapshot) -> None:
        viewers.store(snapshot.counts, snapshot.connections, snapshot.expires)
        if self.verbosity >= 2:
            self.stderr.write(statsreader.counts_line(snapshot.counts, snapshot.connections))
