from __future__ import annotations

import contextlib
import os
import sys
from argparse import ArgumentParser, ArgumentTypeError, RawDescriptionHelpFormatter
from typing import Any, NoReturn

from django.core.management.base import BaseCommand, CommandError, CommandParser, DjangoHelpFormatter

from dashboards_live import conf
from dashboards_live.contract import validate_channel, validate_event_name
from dashboards_live.management.base import EXIT_RUNTIME, EXIT_USAGE, exit_codes
from dashboards_live.publishing import oneoff

HELP = """\
Publish one event to Pushpin now: validated, stored, delivered within --timeout.
Prints one line when Pushpin has taken it; exits 1 if it could not be
delivered (nothing is kept), 2 on bad input (nothing is sent).

examples:
  python manage.py sendevent demo notice '<p class="notice">Back at 10:00</p>'
  echo '<b>deploy done</b>' | python manage.py sendevent ops banner
  python manage.py sendevent ops banner --file banner.html --timeout 2
  python manage.py sendevent ops status --json '{"ok": true, "build": 1234}'
  python manage.py sendevent --render demo.queue '{"text": "12", "value": 12}'
  python manage.py sendevent --render demo.latency '{"p50": 41, "p99": 180}'
  python manage.py sendevent demo sse_stat --render stat '{"text": "42%", "sub_text": "ops"}'
  python manage.py sendevent demo sse_chart --render chart '[3, 1, 4, 1, 5]'
  python manage.py sendevent demo sse_stat --render stat '"99%"' --dry-run
  python manage.py sendevent ops banner --dry-run -- '-data that starts with a dash'
"""


class HelpFormatter(DjangoHelpFormatter, RawDescriptionHelpFormatter):
    """Django's option order, with the examples' line breaks kept."""


class IntermixedParser(CommandParser):
    """Options may come before or after DATA, and a usage error is one line."""

    def parse_args(self, args: Any = None, namespace: Any = None) -> Any:
        args = list(args or [])
        if self.missing_args_message and not args:
            self.error(self.missing_args_message)
        if "--" not in args:
            # plain parse_args would take DATA as absent once options follow EVENT
            return self.parse_intermixed_args(args, namespace)
        # Intermixed parsing mishandles "--" (Python 3.11): stand in for what
        # follows it with tokens no shell argument can hold (they contain NUL).
        cut = args.index("--")
        stand_ins = {f"\0{i}": arg for i, arg in enumerate(args[cut + 1 :])}
        parsed = self.parse_intermixed_args(args[:cut] + list(stand_ins), namespace)
        for name, value in vars(parsed).items():
            if isinstance(value, str) and value in stand_ins:
                setattr(parsed, name, stand_ins[value])
        return parsed

    def error(self, message: str) -> NoReturn:
        if self.called_from_command_line:
            self.exit(EXIT_USAGE, f"{self.prog}: error: {message} (see --help)\n")
        raise CommandError(f"Error: {message}", returncode=EXIT_USAGE)


def render_target(raw: str) -> str:
    if raw in ("stat", "chart") or ("." in raw and all(raw.partition(".")[::2])):
        return raw
    raise ArgumentTypeError(f"{raw!r} is not stat, chart or DASHBOARD.COMPONENT (e.g. ops.queue)")


def positive_seconds(raw: str) -> float:
    try:
        value = float(raw)
    except ValueError:
        raise ArgumentTypeError(f"{raw!r} is not a number") from None
    if not 0 < value < float("inf"):
        raise ArgumentTypeError(f"{raw!r} must be a positive number of seconds")
    return value


class Command(BaseCommand):
    help = HELP
    missing_args_message = (
        "give CHANNEL and EVENT (and DATA, or - for standard input), or --render DASHBOARD.COMPONENT and DATA"
    )
    # a one-off push needs none of the project-wide checks, and must be quick
    requires_system_checks: list[str] = []

    def create_parser(self, prog_name: str, subcommand: str, **kwargs: Any) -> CommandParser:
        parser = super().create_parser(prog_name, subcommand, formatter_class=HelpFormatter, **kwargs)
        parser.__class__ = IntermixedParser  # same parser, same state: only parse_args differs
        return parser

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument(
            "channel", nargs="?", default=None, help="channel to publish on (1 to 64 of A-Z a-z 0-9 _ . -)"
        )
        parser.add_argument(
            "event", nargs="?", default=None, help="event name: the sse-swap value of the element to update"
        )
        parser.add_argument("data", nargs="?", default=None, help="the event's data; - or nothing reads standard input")
        parser.add_argument("--file", metavar="PATH", help="read DATA from this file")
        kind = parser.add_mutually_exclusive_group()
        kind.add_argument("--json", action="store_true", help="DATA must be JSON; it is sent compact")
        kind.add_argument(
            "--render",
            metavar="DASHBOARD.COMPONENT|stat|chart",
            type=render_target,
            help="DATA is the component's value as JSON; send the fragment the feeds would render. "
            "DASHBOARD.COMPONENT (e.g. ops.queue) takes channel and event from the declared dashboard, "
            "so give only DATA",
        )
        parser.add_argument(
            "--dry-run",
            action="store_true",
            help="print the SSE frame a browser would receive; store and publish nothing",
        )
        parser.add_argument(
            "--timeout",
            type=positive_seconds,
            default=None,
            metavar="SECONDS",
            help="bound on the whole publish, connecting included (default DASHBOARDS_PUBLISH_TIMEOUT, 5)",
        )

    def handle(
        self,
        *,
        channel: str | None,
        event: str | None,
        data: str | None,
        file: str | None,
        json: bool,
        render: str | None,
        dry_run: bool,
        timeout: float | None,
        verbosity: int,
        **options: Any,
    ) -> str:
        declared = render is not None and "." in render
        if declared:
            # --render ops.queue DATA: the only positional given is DATA
            if event is not None:
                self.usage_error(f"with --render {render} give only DATA: the dashboard names channel and event")
            channel, data = None, channel if data is None else data
        elif channel is None or event is None:
            self.usage_error(self.missing_args_message)
        mode: oneoff.Mode = "json" if json else "stat" if render == "stat" else "chart" if render else "text"
        try:
            with exit_codes():
                if render is not None and declared:
                    prepared = oneoff.prepare_for(render, self.read_data(data, file, verbosity))
                else:
                    assert channel is not None and event is not None
                    # bad names are refused before anything waits on standard input
                    validate_channel(channel)
                    validate_event_name(event)
                    prepared = oneoff.prepare(channel, event, self.read_data(data, file, verbosity), mode)
                if dry_run:
                    self.write_exact(oneoff.dry_run(prepared))
                    return ""
                sent = oneoff.send(prepared, timeout=timeout)
        except KeyboardInterrupt:
            raise CommandError("interrupted: nothing was published", returncode=EXIT_RUNTIME) from None
        if verbosity < 1:
            return ""
        stored = sent.published.id
        where = f"id {stored}" if stored is not None else "not stored"
        return f"Published {prepared.name!r} on {prepared.channel!r} ({where}) in {sent.elapsed_ms:.0f} ms."

    def read_data(self, data: str | None, file: str | None, verbosity: int) -> str | bytes:
        limit = conf.max_data_bytes()
        if file is not None:
            if data is not None:
                self.usage_error("give DATA or --file, not both")
            try:
                with open(file, "rb") as stream:
                    return oneoff.read_limited(stream, limit)
            except OSError as exc:
                self.usage_error(f"cannot read --file {file!r}: {exc.strerror or exc}")
        if data is not None and data != "-":
            return data
        if sys.stdin is None:
            self.usage_error("no DATA given and no standard input to read it from")
        if verbosity >= 1 and sys.stdin.isatty():
            self.stderr.write("Reading DATA from standard input; end it with Ctrl-D.")
        return oneoff.read_limited(sys.stdin.buffer, limit)

    def usage_error(self, message: str) -> NoReturn:
        raise CommandError(message, returncode=EXIT_USAGE)

    def write_exact(self, text: str) -> None:
        """Write `text` as UTF-8 bytes, unchanged by newline or locale translation."""
        buffer = getattr(self.stdout, "buffer", None)
        if buffer is None:  # call_command with a StringIO
            self.stdout.write(text, ending="")
            return
        self.stdout.flush()
        buffer.write(text.encode("utf-8"))
        buffer.flush()

    def run_from_argv(self, argv: list[str]) -> NoReturn:
        """From a shell: once Django has printed the outcome and closed the
        database connections, leave without the interpreter's teardown (over a
        hundred milliseconds of freeing modules a one-off process never reuses).
        """
        try:
            super().run_from_argv(argv)
            code = 0
        except SystemExit as exc:
            code = _exit_status(exc.code)
        for stream in (sys.stdout, sys.stderr):
            with contextlib.suppress(OSError, ValueError, AttributeError):
                stream.flush()  # a closed pipe must not turn the outcome into a traceback
        os._exit(code)


def _exit_status(code: object) -> int:
    if code is None:
        return 0
    if isinstance(code, int):
        return code
    sys.stderr.write(f"{code}\n")
    return 1
