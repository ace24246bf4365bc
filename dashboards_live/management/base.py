"""What every command shares: failures turned into exit codes in one place."""

from __future__ import annotations

import os
import signal
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from types import FrameType

from django.core.exceptions import ImproperlyConfigured
from django.core.management.base import CommandError

from dashboards_live.components import InvalidValue
from dashboards_live.errors import ConfigError, PushpinError
from dashboards_live.feeds import FeedError, UnknownFeed
from dashboards_live.publishing import InvalidEvent, PublishError

EXIT_RUNTIME = 1  # publish failed, Pushpin unreachable or timed out
EXIT_USAGE = 2  # bad usage, invalid input or a bad setting


@contextmanager
def exit_codes() -> Iterator[None]:
    try:
        yield
    except (InvalidEvent, InvalidValue, UnknownFeed, FeedError) as exc:
        raise CommandError(str(exc), returncode=EXIT_USAGE) from None
    except (ConfigError, ImproperlyConfigured) as exc:
        # ConfigError names the setting; Django's own ImproperlyConfigured is a bad setting too
        raise CommandError(str(exc), returncode=EXIT_USAGE) from None
    except (PublishError, PushpinError) as exc:
        raise CommandError(str(exc), returncode=EXIT_RUNTIME) from None


def install_stop_handlers(stop: Callable[[], None]) -> None:
    """SIGTERM and SIGINT ask for a clean stop; a second SIGINT exits at once."""
    interrupted = False

    def on_term(signum: int, frame: FrameType | None) -> None:
        stop()

    def on_int(signum: int, frame: FrameType | None) -> None:
        nonlocal interrupted
        if interrupted:
            sys.stderr.write("Interrupted twice: exiting without waiting.\n")
            os._exit(130)
        interrupted = True
        stop()

    signal.signal(signal.SIGTERM, on_term)
    signal.signal(signal.SIGINT, on_int)
