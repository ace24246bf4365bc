from __future__ import annotations

from argparse import ArgumentParser
from typing import Any

from dashboards_live import feeds as feeds_module
from dashboards_live.delivery import DeliveryEngine
from dashboards_live.feeds import FeedError, autodiscover
from dashboards_live.management.base import exit_codes
from dashboards_live.management.loopcommand import LoopCommand


class Command(LoopCommand):
    help = (
        "Run the project's feeds on their schedules until stopped (SIGTERM or SIGINT).\n"
        "Feeds are declared with @feed in an installed app's feeds.py or a module in DASHBOARDS_FEED_MODULES.\n"
        "Examples: runeventloop --list; runeventloop queue_depth --once; runeventloop --metrics-addr 127.0.0.1:9100"
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("feeds", nargs="*", metavar="FEED", help="feeds to run (default: all)")
        parser.add_argument(
            "--list", action="store_true", dest="list_feeds", help="print name, channel, event and interval, then exit"
        )
        self.add_loop_arguments(parser)

    def handle(self, *, feeds: list[str], list_feeds: bool, **options: Any) -> str:
        with exit_codes():
            registry = autodiscover()
            selected = registry.select(feeds)
            if not selected:
                raise FeedError(
                    "no feeds are declared: add @feed functions to an app's feeds.py or list modules "
                    "in DASHBOARDS_FEED_MODULES"
                )
        if list_feeds:
            return feeds_module.table(selected)
        with exit_codes():
            engine = DeliveryEngine.from_settings()
        try:
            summary = self.run_loop(selected, engine, options)
        finally:
            engine.close()
        if options["verbosity"] < 1:
            return ""
        return (
            f"runeventloop: {len(selected)} feed(s), {summary.ticks} ticks, {summary.events} events published "
            f"in {summary.elapsed:.1f} s, {summary.failures} failures, {summary.skipped} skipped ticks."
        )
