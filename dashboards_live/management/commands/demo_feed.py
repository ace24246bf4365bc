from __future__ import annotations

import time
from argparse import ArgumentParser, ArgumentTypeError
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from dashboards_live import demo
from dashboards_live.dashboards import DEMO
from dashboards_live.feeds import registry
from dashboards_live.loop import EventLoop
from dashboards_live.management.base import EXIT_RUNTIME, exit_codes, install_stop_handlers
from dashboards_live.publishing import Publisher, PublishError, validate_channel


def positive_float(raw: str) -> float:
    try:
        value = float(raw)
    except ValueError:
        raise ArgumentTypeError(f"{raw!r} is not a number") from None
    if not value > 0 or value == float("inf"):
        raise ArgumentTypeError(f"{raw!r} must be a positive number of seconds")
    return value


def positive_int(raw: str) -> int:
    try:
        value = int(raw)
    except ValueError:
        raise ArgumentTypeError(f"{raw!r} is not an integer") from None
    if value < 1:
        raise ArgumentTypeError(f"{raw!r} must be at least 1")
    return value


class Command(BaseCommand):
    help = (
        "Publish random Stat and Chart values to the demo dashboard, on time, until stopped.\n"
        "Example: python manage.py demo_feed --interval 0.5 --seed 42"
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("--interval", type=positive_float, default=1.0, help="seconds between ticks (default 1)")
        parser.add_argument(
            "--iterations", type=positive_int, default=None, help="stop after N ticks (default: run until stopped)"
        )
        parser.add_argument("--channel", default="demo", help="channel to publish on (default demo)")
        parser.add_argument("--seed", type=int, default=None, help="seed for reproducible values")
        parser.add_argument(
            "--wait", type=float, default=10.0, help="seconds to wait for Pushpin at start (default 10)"
        )

    def handle(
        self, *, interval: float, iterations: int | None, channel: str, seed: int | None, wait: float, **options: Any
    ) -> str:
        with exit_codes():
            validate_channel(channel)
        demo.source.seed(seed)
        feeds = [f.but(channel=channel, interval=interval) for f in registry.select(demo.DEMO_FEEDS)]
        publisher = Publisher()
        self.wait_for_pushpin(publisher, wait)
        path = "/" if channel == DEMO.channel else f"/demo/{channel}/"
        if options["verbosity"] >= 1:
            self.stdout.write(f"Dashboard: {settings.DASHBOARDS_PUBLIC_URL.rstrip('/')}{path}")
            self.stdout.flush()
        loop = EventLoop(feeds, publisher, iterations=iterations)
        install_stop_handlers(loop.request_stop)
        summary = loop.run()
        publisher.close()
        if summary.undelivered:
            raise CommandError(
                f"{summary.undelivered} event(s) were not delivered: {summary.last_error}",
                returncode=EXIT_RUNTIME,
            )
        return (
            f"demo_feed: {summary.ticks} values, {summary.events} events published on "
            f"{channel!r} in {summary.elapsed:.1f} s, {summary.failures} failures."
        )

    def wait_for_pushpin(self, publisher: Publisher, wait: float) -> None:
        # under honcho the feed starts with Pushpin, so give it a moment
        deadline = time.monotonic() + wait
        while True:
            try:
                publisher.ping()
                return
            except PublishError as exc:
                if time.monotonic() >= deadline:
                    raise CommandError(
                        f"{exc}. Start it with `python manage.py runpushpin` (or `honcho start`).",
                        returncode=EXIT_RUNTIME,
                    ) from None
                time.sleep(0.2)
