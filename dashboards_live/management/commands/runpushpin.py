from __future__ import annotations

import os
import signal
from argparse import ArgumentParser
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand

from dashboards_live.management.base import exit_codes
from dashboards_live.web import pushpin
from dashboards_live.web.pushpinsupervisor import Supervisor, SystemProcesses


class Command(BaseCommand):
    help = (
        "Run Pushpin in the foreground with the app's Pushpin config (DASHBOARDS_PUSHPIN_CONFIG), its signing key and "
        "publish port taken from GRIP_URL so that it matches every publisher. When any of Pushpin's processes "
        "exits, it stops the rest and starts Pushpin again (backoff 0.5 s doubling to 30 s); SIGTERM, SIGINT or "
        "SIGHUP stop it.\n"
        "Example: python manage.py runpushpin --http-port 7999 --web 127.0.0.1:8000"
    )
    # It checks the one setting it uses (GRIP_URL) itself, in one line; the
    # web process's checks (database, channels) are not Pushpin's business.
    requires_system_checks: list[str] = []

    def add_arguments(self, parser: ArgumentParser) -> None:
        # values stay strings: a bad one is a one-line ConfigError, not argparse's usage block
        parser.add_argument(
            "--http-port",
            default=None,
            help=f"[ADDR:]PORT browsers connect to (default: ${pushpin.HTTP_PORT_VARIABLE} or "
            f"{pushpin.DEFAULT_HTTP_PORT}, all interfaces)",
        )
        parser.add_argument(
            "--web",
            default=None,
            help=f"HOST:PORT of the Django web process (default: ${pushpin.WEB_VARIABLE} or {pushpin.DEFAULT_WEB})",
        )
        parser.add_argument(
            "--port-offset",
            default="0",
            help="shift Pushpin's ZMQ ports, to run several instances on one host",
        )
        parser.add_argument(
            "--instance-dir",
            type=Path,
            default=None,
            help="where the rendered config, run and log files go (default: var/pushpin)",
        )
        parser.add_argument(
            "--loglevel",
            default=os.environ.get("PUSHPIN_LOGLEVEL"),
            help="Pushpin's log level: 0 errors, 1 warnings, 2 info, every publish (Pushpin's default), 3 debug "
            "(default: $PUSHPIN_LOGLEVEL)",
        )
        parser.add_argument("--check", action="store_true", help="write the config, print its path and exit")

    def handle(
        self,
        *,
        http_port: str | None,
        web: str | None,
        port_offset: str,
        instance_dir: Path | None,
        check: bool,
        loglevel: str | None,
        **options: Any,
    ) -> None:
        with exit_codes():
            instance = pushpin.plan_instance(
                getattr(settings, "GRIP_URL", None),
                instance_dir=instance_dir,
                http_port=http_port,
                web=web,
                port_offset=port_offset,
            )
            conf = pushpin.write_instance(pushpin.shipped_template(), instance.settings, instance.conf, instance.web)
            if check:
                self.stdout.write(str(conf))
                return
            argv = pushpin.argv(instance, loglevel)
            banner = [
                f"Pushpin: browsers on :{instance.client_port}, publishes on "
                f"127.0.0.1:{instance.settings.publish_port}, routes to {instance.web}"
            ]

            def before_start() -> None:
                # Pushpin starts without complaint on a taken port
                pushpin.check_ports_free(instance)
                while banner:
                    self.say(banner.pop())

            supervisor = Supervisor(
                argv, SystemProcesses(instance.settings.rundir, conf), log=self.say, before_start=before_start
            )
            # SIGHUP too: Pushpin runs in its own session, so a closed terminal
            # would otherwise leave it serving without its supervisor
            for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
                signal.signal(sig, lambda *_: supervisor.stop())
            supervisor.run()
        self.say(f"Pushpin: stopped ({supervisor.restarts} restart(s)).")

    def say(self, line: str) -> None:
        self.stderr.write(line)
        self.stderr.flush()
