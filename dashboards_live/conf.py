"""The app's settings: every default in one place, each value checked where it is read.

A project sets only GRIP_URL; everything else has a default here (DEFAULTS).
Every command and the web process read their settings through these
functions, so a malformed GRIP_URL says "GRIP_URL: ..." in one line (exit 2)
instead of failing deep inside a publish.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings

from dashboards_live.contract import DEFAULT_MAX_DATA_BYTES
from dashboards_live.errors import ConfigError

DEFAULTS: dict[str, Any] = {
    # Largest event data accepted by publishing, in bytes of UTF-8.
    "DASHBOARDS_MAX_DATA_BYTES": DEFAULT_MAX_DATA_BYTES,
    # More Pushpin instances to publish every event to, beside GRIP_URL's.
    "DASHBOARDS_PUBLISH_URLS": [],
    # Bound on one publish to Pushpin, connecting included (seconds).
    "DASHBOARDS_PUBLISH_TIMEOUT": 5.0,
    # One frame for every subscriber (its id built in), no per-delivery user-list check.
    "DASHBOARDS_SHARED_FRAMES": True,
    # Stored events older than this many seconds are trimmed...
    "DASHBOARDS_RETENTION": 24 * 3600.0,
    # ...and those more than this many behind a channel's newest (0: no cap).
    "DASHBOARDS_RETENTION_EVENTS": 100_000,
    # A reconnect replays the newest event of each whole-state component, and at most
    # this many (the newest) of the events that are not whole state (logs, raw send_event names).
    "DASHBOARDS_REPLAY_MAX_EVENTS": 100,
    # Streams only through Pushpin (signed); direct streaming is for development.
    "DASHBOARDS_ALLOW_DIRECT_STREAMING": False,
    # Who may read which channel: names or fnmatch patterns -> rule ("demo" is public unless listed).
    "DASHBOARDS_CHANNELS": {},
    # Modules that declare dashboards or feeds beside every installed app's
    # dashboards.py and feeds.py ("dashboards_live.declaring.demo" enables the demo).
    "DASHBOARDS_FEED_MODULES": [],
    # The address people open (printed by demo_feed): Pushpin's client port.
    "DASHBOARDS_PUBLIC_URL": "http://127.0.0.1:7999/",
    # Where runpushpin writes Pushpin's config, logs and sockets (var/ beside manage.py by default).
    "DASHBOARDS_VAR_DIR": None,
    # Pushpin's config template for runpushpin (None: the app's data/pushpin.conf); a
    # project copies and edits it to change, say, client_buffer_size.
    "DASHBOARDS_PUSHPIN_CONFIG": None,
    # The htmx line the pages load (django-htmx ships both): 2 or 4; None: django-htmx's default.
    "DASHBOARDS_HTMX": None,
    # The middleware a stream connect runs through on the short road (dashboards_live.web.wsgi).
    "DASHBOARDS_STREAM_MIDDLEWARE": [
        "django.middleware.security.SecurityMiddleware",
        "django.contrib.sessions.middleware.SessionMiddleware",
        "django.contrib.auth.middleware.AuthenticationMiddleware",
    ],
}

# django-eventstream's own settings that must name ours: its send_event then
# stores with our ids, and its stream view asks our channel rules
EVENTSTREAM_DEFAULTS = {
    "EVENTSTREAM_STORAGE_CLASS": "dashboards_live.publishing.storage.Storage",
    "EVENTSTREAM_CHANNELMANAGER_CLASS": "dashboards_live.web.channels.ChannelManager",
}


def setting(name: str) -> Any:
    """The project's value of an app setting, or its default."""
    return getattr(settings, name, DEFAULTS[name])


def var_dir() -> Path:
    """DASHBOARDS_VAR_DIR, else var/ beside the project (BASE_DIR), else in the working folder."""
    value = setting("DASHBOARDS_VAR_DIR")
    if value:
        return Path(value)
    base = getattr(settings, "BASE_DIR", None)
    return Path(base if base is not None else Path.cwd()) / "var"


@dataclass(frozen=True)
class Target:
    """One Pushpin publish endpoint, parsed from a GRIP URL."""

    scheme: str
    host: str
    port: int
    path: str
    iss: str | None
    key: bytes | str | None

    @classmethod
    def from_grip_url(cls, url: object, setting: str = "GRIP_URL") -> Target:
        from gripcontrol import parse_grip_uri

        if not isinstance(url, str) or not url.strip():
            raise ConfigError(setting, "is not set: give Pushpin's publish URL, e.g. http://127.0.0.1:5561?key=...")
        try:
            parsed = parse_grip_uri(url)
            parts = urlsplit(parsed["control_uri"])
            port = parts.port
        except (ValueError, KeyError, TypeError) as exc:
            raise ConfigError(setting, f"{url!r} is not a valid GRIP URL ({exc})") from None
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ConfigError(setting, f"must be an http(s) URL with a host, not {url!r}")
        return cls(
            parts.scheme,
            parts.hostname,
            port or (443 if parts.scheme == "https" else 80),
            parts.path.rstrip("/"),
            parsed.get("control_iss"),
            parsed.get("key"),
        )

    @property
    def display(self) -> str:
        return f"{self.scheme}://{self.host}:{self.port}{self.path}"


def publish_targets() -> list[Target]:
    """GRIP_URL's Pushpin first, then each of DASHBOARDS_PUBLISH_URLS."""
    targets = [Target.from_grip_url(getattr(settings, "GRIP_URL", None))]
    extra = setting("DASHBOARDS_PUBLISH_URLS")
    if isinstance(extra, str) or not isinstance(extra, list | tuple):
        raise ConfigError("DASHBOARDS_PUBLISH_URLS", "must be a list of GRIP URLs (comma-separated in the environment)")
    targets += [Target.from_grip_url(url, "DASHBOARDS_PUBLISH_URLS") for url in extra]
    return targets


def seconds(setting: str, value: object) -> float:
    """A positive, finite number of seconds, or a ConfigError naming `setting`."""
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value) or value <= 0:
        raise ConfigError(setting, f"must be a positive number of seconds, not {value!r}")
    return float(value)


def publish_timeout() -> float:
    return seconds("DASHBOARDS_PUBLISH_TIMEOUT", setting("DASHBOARDS_PUBLISH_TIMEOUT"))


def port(setting: str, raw: object) -> int:
    """A TCP port (1-65535) from a setting, an environment variable or an option."""
    try:
        value = int(str(raw).strip())
    except ValueError:
        raise ConfigError(setting, f"must be a port number (1-65535), not {raw!r}") from None
    if not 0 < value < 65536:
        raise ConfigError(setting, f"must be a port number (1-65535), not {value}")
    return value


def max_data_bytes() -> int:
    value = setting("DASHBOARDS_MAX_DATA_BYTES")
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ConfigError("DASHBOARDS_MAX_DATA_BYTES", f"must be a whole number of bytes, at least 1, not {value!r}")
    return value


def shared_frames() -> bool:
    """DASHBOARDS_SHARED_FRAMES: one frame for every subscriber, no per-delivery user-list check in Pushpin."""
    return bool(setting("DASHBOARDS_SHARED_FRAMES"))


def retention() -> tuple[float, int]:
    """(seconds an event is kept, events kept per channel; 0 = no cap): DASHBOARDS_RETENTION(_EVENTS)."""
    age = seconds("DASHBOARDS_RETENTION", setting("DASHBOARDS_RETENTION"))
    cap = setting("DASHBOARDS_RETENTION_EVENTS")
    if isinstance(cap, bool) or not isinstance(cap, int) or cap < 0:
        raise ConfigError("DASHBOARDS_RETENTION_EVENTS", f"must be a whole number of events (0: no cap), not {cap!r}")
    return age, cap


def replay_max_events() -> int:
    """DASHBOARDS_REPLAY_MAX_EVENTS: events that are not whole state replayed to a reconnect, at most."""
    value = setting("DASHBOARDS_REPLAY_MAX_EVENTS")
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ConfigError("DASHBOARDS_REPLAY_MAX_EVENTS", f"must be a whole number, at least 1, not {value!r}")
    return value


HTMX_LINES = (2, 4)


def htmx_line() -> int | None:
    """DASHBOARDS_HTMX as 2 or 4 ("2" and "4" from the environment); None: django-htmx's default."""
    value = setting("DASHBOARDS_HTMX")
    if value is None or value == "":
        return None
    if not isinstance(value, bool) and str(value).strip() in {str(line) for line in HTMX_LINES}:
        return int(str(value).strip())
    raise ConfigError("DASHBOARDS_HTMX", f"must be 2 or 4 (the htmx line django-htmx ships), or None, not {value!r}")


def check() -> None:
    """Every publishing setting, read once at start-up: the first bad one raises ConfigError."""
    publish_targets()
    publish_timeout()
    max_data_bytes()
    retention()
    replay_max_events()
