from __future__ import annotations

from argparse import ArgumentParser
from typing import Any

from django.conf import settings
from django.core.management.base import CommandError

from dashboards_live.contract import validate_channel
from dashboards_live.declaring import demo
from dashboards_live.declaring.feeds import registry
from dashboards_live.errors import PublishError
from dashboards_live.management.base import EXIT_RUNTIME, exit_codes
from dashboards_live.management.loopcommand import LoopCommand, positive_float
from dashboards_live.publishing.delivery import DeliveryEngine
from dashboards_live.running.runner import wait_for_pushpin


class Command(LoopCommand):
    help = (
        "Publish random values for every component of the demo dashboard, on time, until stopped.\n"
        "It is runeventloop restricted to the demo feeds. Example: python manage.py demo_feed --interval 0.5 --seed 42"
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("--interval", type=positive_float, default=1.0, help="seconds between ticks (default 1)")
        parser.add_argument("--channel", default="demo", help="channel to publish on (default demo)")
        parser.add_argument("--seed", type=int, default=None, help="seed for reproducible values")
        parser.add_argument(
            "--wait", type=float, default=10.0, help="seconds to wait for Pushpin at start (default 10)"
        )
        self.add_loop_arguments(parser)

    def handle(self, *, interval: float, channel: str, seed: int | None, wait: float, **options: Any) -> str:
        with exit_codes():
            validate_channel(channel)
            engine = DeliveryEngine.from_settings()
        demo.source.seed(seed)
        feeds = [f.but(channel=channel, interval=interval) for f in registry.select(demo.DEMO_FEEDS)]
        try:
            # under honcho the feed starts with Pushpin, so give it a moment
            wait_for_pushpin(engine, wait)
        except PublishError as exc:
            engine.close()
            raise CommandError(
                f"{exc}. Start it with `python manage.py runpushpin` (or `honcho start`).", returncode=EXIT_RUNTIME
            ) from None
        path = "/dashboards/demo/" if channel == demo.Demo.channel else f"/demo/{channel}/"
        if options["verbosity"] >= 1:
            self.stdout.write(f"Dashboard: {settings.DASHBOARDS_PUBLIC_URL.rstrip('/')}{path}")
            self.stdout.flush()
        try:
            summary = self.run_loop(feeds, engine, options)
        finally:
            engine.close()
        if options["verbosity"] < 1:
            return ""
        return (
            f"demo_feed: {summary.ticks} values, {summary.events} events published on "
            f"{channel!r} in {summary.elapsed:.1f} s, {summary.failures} failures."
        )
