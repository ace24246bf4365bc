from __future__ import annotations

from argparse import ArgumentParser
from typing import Any

from django.core.management.base import CommandError
from django.urls import NoReverseMatch, reverse

from dashboards_live import conf
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
        if options["verbosity"] >= 1:
            self.stdout.write(f"Dashboard: {demo_url(channel)}")
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


def demo_url(channel: str) -> str:
    """Where people open the demo on `channel`: Pushpin's address and the app's mounted path."""
    try:
        if channel == demo.Demo.channel:
            path = reverse("dashboards_live:dashboard", args=[demo.Demo.name])
        else:
            path = reverse("dashboards_live:demo-channel", args=[channel])
    except NoReverseMatch:
        # the app's URLs are not mounted (manage.py check says so): only the address is known
        path = "/"
    address: str = conf.setting("DASHBOARDS_PUBLIC_URL")
    return address.rstrip("/") + path
