from __future__ import annotations

from argparse import ArgumentParser
from typing import Any

from django.core.management.base import CommandError

from dashboards_live.declaring import feeds as feeds_module
from dashboards_live.declaring.feeds import Feed, FeedError, autodiscover
from dashboards_live.management.base import EXIT_RUNTIME, EXIT_USAGE, exit_codes
from dashboards_live.management.loopcommand import LoopCommand, positive_float
from dashboards_live.publishing.delivery import DeliveryEngine
from dashboards_live.publishing.storage import check_database
from dashboards_live.running import ha


class Command(LoopCommand):
    help = (
        "Run the project's feeds on their schedules until stopped (SIGTERM or SIGINT).\n"
        "Feeds are declared with @feed in an installed app's feeds.py or a module in DASHBOARDS_FEED_MODULES.\n"
        "Examples: runeventloop --list; runeventloop queue_depth --once; runeventloop --metrics-addr 127.0.0.1:9100;\n"
        "runeventloop --ha on several hosts (PostgreSQL): each feed runs in exactly one of them"
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("feeds", nargs="*", metavar="FEED", help="feeds to run (default: all)")
        parser.add_argument(
            "--list", action="store_true", dest="list_feeds", help="print name, channel, event and interval, then exit"
        )
        self.add_loop_arguments(parser)
        parser.add_argument(
            "--ha",
            action="store_true",
            help="several hosts, one active loop per feed: run only the feeds whose PostgreSQL advisory lock "
            "this process holds, take over the others' when their holder dies",
        )
        parser.add_argument(
            "--ha-lease",
            type=positive_float,
            default=5.0,
            metavar="SECONDS",
            help="with --ha: a dead or cut-off holder's feeds are taken over within this (default 5)",
        )

    def handle(self, *, feeds: list[str], list_feeds: bool, ha: bool, ha_lease: float, **options: Any) -> str:
        with exit_codes():
            registry = autodiscover()
            selected = registry.select(feeds)
            if not selected:
                raise FeedError(
                    "no feeds are declared: add @feed functions to an app's feeds.py or list modules "
                    "in DASHBOARDS_FEED_MODULES"
                )
        if ha:
            self.check_ha(selected, ha_lease, options)
            options["ha_lease"] = ha_lease
        if list_feeds:
            return self.holders_table(selected, ha_lease) if ha else feeds_module.table(selected)
        with exit_codes():
            check_database()
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

    def check_ha(self, selected: list[Feed], lease: float, options: dict[str, Any]) -> None:
        if options["once"] or options["iterations"] is not None:
            raise CommandError(
                "--ha runs until stopped (a standby may never run a feed): use --duration, not --once or --iterations",
                returncode=EXIT_USAGE,
            )
        try:
            ha.connector(lease)
        except ha.NotPostgres as exc:
            raise CommandError(str(exc), returncode=EXIT_USAGE) from None
        clash = ha.colliding(ha.identity(f.name, f.channel) for f in selected)
        if clash:
            a, b = clash[0]
            raise CommandError(f"--ha: feeds {a} and {b} would share a lock: rename one", returncode=EXIT_USAGE)

    def holders_table(self, selected: list[Feed], lease: float) -> str:
        """--list --ha: the feeds and which process holds each now."""
        try:
            session = ha.connector(lease)()
            try:
                held = ha.holders(session)
            finally:
                session.close()
        except Exception as exc:
            raise CommandError(f"cannot ask PostgreSQL who holds the feeds: {exc}", returncode=EXIT_RUNTIME) from None
        lines = feeds_module.table(selected).splitlines()
        width = max(len(line) for line in lines)
        out = [f"{lines[0]:<{width}}  HELD BY"]
        for feed, line in zip(selected, lines[1:], strict=True):
            holder = held.get(ha.lock_key(ha.identity(feed.name, feed.channel)), "(nobody)")
            out.append(f"{line:<{width}}  {holder.removeprefix(ha.APPLICATION + ' ')}")
        return "\n".join(out)
