"""What runeventloop and demo_feed share: the loop's options and how a run ends."""

from __future__ import annotations

from argparse import ArgumentParser, ArgumentTypeError
from collections.abc import Sequence
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from dashboards_live.declaring.feeds import Feed
from dashboards_live.management.base import EXIT_RUNTIME, exit_codes
from dashboards_live.publishing.delivery import DeliveryEngine
from dashboards_live.running.loop import LoopSummary
from dashboards_live.running.metrics import parse_addr
from dashboards_live.running.runner import MetricsUnavailable, RunOptions, run_feeds


def positive_float(raw: str) -> float:
    try:
        value = float(raw)
    except ValueError:
        raise ArgumentTypeError(f"{raw!r} is not a number") from None
    if not value > 0 or value == float("inf"):
        raise ArgumentTypeError(f"{raw!r} must be a positive number of seconds")
    return value


def seconds_or_zero(raw: str) -> float:
    if raw.strip() in ("0", "0.0"):
        return 0.0
    return positive_float(raw)


def positive_int(raw: str) -> int:
    try:
        value = int(raw)
    except ValueError:
        raise ArgumentTypeError(f"{raw!r} is not an integer") from None
    if value < 1:
        raise ArgumentTypeError(f"{raw!r} must be at least 1")
    return value


def host_port(raw: str) -> tuple[str, int]:
    try:
        return parse_addr(raw)
    except ValueError as exc:
        raise ArgumentTypeError(str(exc)) from None


class LoopCommand(BaseCommand):
    def add_loop_arguments(self, parser: ArgumentParser) -> None:
        bounds = parser.add_mutually_exclusive_group()
        bounds.add_argument(
            "--once", action="store_true", help="run every feed once, deliver, and exit (for cron); exit 1 on failure"
        )
        bounds.add_argument(
            "--iterations", type=positive_int, default=None, help="stop after N ticks of each feed (default: no limit)"
        )
        parser.add_argument(
            "--duration", type=positive_float, default=None, help="stop after SECONDS (default: run until stopped)"
        )
        parser.add_argument(
            "--status-every",
            type=seconds_or_zero,
            default=60.0,
            metavar="SECONDS",
            help="log a status line this often (default 60; 0: never); on a terminal, a live line instead",
        )
        parser.add_argument(
            "--metrics-addr",
            type=host_port,
            default=None,
            metavar="HOST:PORT",
            help="serve Prometheus metrics on http://HOST:PORT/metrics (e.g. 127.0.0.1:9100)",
        )

    def run_loop(self, feeds: Sequence[Feed], engine: DeliveryEngine, options: dict[str, Any]) -> LoopSummary:
        """Run until stopped or bounded; a bounded run that leaves failures behind exits 1."""
        run = RunOptions(
            iterations=1 if options["once"] else options["iterations"],
            duration=options["duration"],
            status_every=options["status_every"],
            metrics_addr=options["metrics_addr"],
            verbosity=options["verbosity"],
            ha_lease=options.get("ha_lease"),
        )
        with exit_codes():
            try:
                summary = run_feeds(feeds, engine, run)
            except MetricsUnavailable as exc:
                raise CommandError(str(exc), returncode=EXIT_RUNTIME) from None
        if summary.stopped:
            return summary  # SIGTERM/SIGINT is a clean stop: exit 0, the log says what was left
        if summary.undelivered:
            raise CommandError(
                f"{summary.undelivered} event(s) were not delivered: {summary.last_error}", returncode=EXIT_RUNTIME
            )
        failed = summary.failed_feeds
        if failed:
            raise CommandError(
                "feed(s) failed on their last tick: " + "; ".join(f"{name}: {err}" for name, err in failed.items()),
                returncode=EXIT_RUNTIME,
            )
        return summary
