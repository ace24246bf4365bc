from __future__ import annotations

import os
import shutil
from argparse import ArgumentParser
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from dashboards_live.conf import Target
from dashboards_live.management.base import EXIT_RUNTIME, EXIT_USAGE
from dashboards_live.pushpin import PushpinSettings, busy_ports, write_instance

LOOPBACK = {"127.0.0.1", "localhost", "::1"}


class Command(BaseCommand):
    help = (
        "Run Pushpin in the foreground with pushpin/pushpin.conf, its signing key and "
        "publish port taken from GRIP_URL so that it matches every publisher.\n"
        "Example: python manage.py runpushpin --http-port 7999 --web 127.0.0.1:8000"
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument(
            "--http-port",
            default=os.environ.get("PUSHPIN_HTTP_PORT", "7999"),
            help="[ADDR:]PORT browsers connect to (default: $PUSHPIN_HTTP_PORT or 7999, all interfaces)",
        )
        parser.add_argument(
            "--web",
            default=os.environ.get("DASHBOARDS_WEB_ADDR", "127.0.0.1:8000"),
            help="HOST:PORT of the Django web process (default: 127.0.0.1:8000)",
        )
        parser.add_argument(
            "--port-offset",
            type=int,
            default=0,
            help="shift Pushpin's ZMQ ports, to run several instances on one host",
        )
        parser.add_argument(
            "--instance-dir",
            type=Path,
            default=None,
            help="where the rendered config, run and log files go (default: var/pushpin)",
        )
        parser.add_argument("--check", action="store_true", help="write the config and exit")

    def handle(
        self, *, http_port: str, web: str, port_offset: int, instance_dir: Path | None, check: bool, **options: Any
    ) -> None:
        target = Target.from_grip_url(settings.GRIP_URL)
        if target.host not in LOOPBACK:
            raise CommandError(
                f"GRIP_URL points at {target.host}; runpushpin only runs a local Pushpin (publish port on 127.0.0.1)",
                returncode=EXIT_USAGE,
            )
        if not isinstance(target.key, str) or not target.key:
            raise CommandError("GRIP_URL has no ?key=...: Pushpin needs it to sign requests", returncode=EXIT_USAGE)
        base = instance_dir or Path(settings.VAR_DIR) / "pushpin"
        instance = PushpinSettings(
            http_port=http_port,
            publish_port=target.port,
            port_offset=port_offset,
            sig_key=target.key,
            rundir=base / "run",
            logdir=base / "log",
            routes=base / "routes",
        )
        conf = write_instance(
            Path(settings.BASE_DIR) / "pushpin" / "pushpin.conf", instance, base / "pushpin.conf", web
        )
        if check:
            self.stdout.write(str(conf))
            return
        binary = shutil.which("pushpin")
        if binary is None:
            raise CommandError("pushpin is not installed: sudo apt-get install pushpin", returncode=EXIT_RUNTIME)
        client_port = int(http_port.rsplit(":", 1)[-1])
        taken = busy_ports("127.0.0.1", [client_port, target.port, *instance.zmq_ports])
        if taken:
            raise CommandError(
                f"port(s) {', '.join(map(str, taken))} already in use: is another Pushpin running?",
                returncode=EXIT_RUNTIME,
            )
        self.stderr.write(f"Pushpin: browsers on :{client_port}, publishes on {target.display}, routes to {web}")
        self.stderr.flush()
        os.execv(binary, [binary, "--config", str(conf), "--merge-output"])
