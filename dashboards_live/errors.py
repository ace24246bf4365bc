"""The kinds of failure a caller can act on; commands turn them into exit codes in one place.

- InvalidEvent (contract.py) and InvalidValue (components.py): bad input, exit 2.
- ConfigError: a bad setting, named in the message, exit 2.
- PublishError: Pushpin or the database failed a publish, exit 1.
- PushpinError: Pushpin cannot be started (not installed, a port taken), exit 1.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from django.core.exceptions import ImproperlyConfigured

if TYPE_CHECKING:
    from dashboards_live.contract import Published


class ConfigError(ImproperlyConfigured):
    """A setting (or an option standing in for one) with a value that cannot work."""

    def __init__(self, setting: str, message: str) -> None:
        super().__init__(f"{setting}: {message}")
        self.setting = setting


class PublishError(RuntimeError):
    """Pushpin could not be reached, refused the publish or did not answer in time; or storing failed."""

    undelivered: Sequence[Published] = ()  # what no Pushpin took, withdrawn again (set by the engine)
    undelivered_count: int = 0  # how many of the posted items, from the end, no Pushpin took
    partial: bool = False  # another Pushpin instance did take it


class PushpinError(RuntimeError):
    """Pushpin cannot start here: its binary is missing, or a port it needs is already taken."""
