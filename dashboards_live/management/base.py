"""What every command shares: failures turned into exit codes in one place."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from django.core.exceptions import ImproperlyConfigured
from django.core.management.base import CommandError

from dashboards_live.contract import InvalidEvent
from dashboards_live.declaring.components import InvalidValue
from dashboards_live.declaring.dashboards import UnknownComponent
from dashboards_live.declaring.feeds import FeedError, UnknownFeed
from dashboards_live.errors import PublishError, PushpinError

EXIT_RUNTIME = 1  # publish failed, Pushpin unreachable or timed out, the database unreachable
EXIT_USAGE = 2  # bad usage, invalid input or a bad setting


@contextmanager
def exit_codes() -> Iterator[None]:
    try:
        yield
    except (InvalidEvent, InvalidValue, UnknownFeed, FeedError, UnknownComponent) as exc:
        raise CommandError(str(exc), returncode=EXIT_USAGE) from None
    except ImproperlyConfigured as exc:  # errors.ConfigError included: one line naming the setting
        raise CommandError(str(exc), returncode=EXIT_USAGE) from None
    except (PublishError, PushpinError) as exc:
        raise CommandError(str(exc), returncode=EXIT_RUNTIME) from None
