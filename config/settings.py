"""Settings for dashboards_live, read from the environment.

Every process (web, runeventloop, demo_feed, sendevent) loads this module, so they
agree on the database, the event storage and Pushpin. Defaults are safe for local
use; production sets DJANGO_DEBUG=0 and the variables docs/configuration.md lists.
"""

from __future__ import annotations

import os
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlencode

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

from config.env import envbool, envfloat, envint, envlist, envmap, envstr, local_secret

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(envstr("DASHBOARDS_VAR_DIR", str(BASE_DIR / "var")))

DEBUG = envbool("DJANGO_DEBUG", True)

if DEBUG:
    SECRET_KEY = envstr("DJANGO_SECRET_KEY", "") or local_secret(VAR_DIR / "secret-key")
    ALLOWED_HOSTS = envlist("DJANGO_ALLOWED_HOSTS", ["127.0.0.1", "localhost", "[::1]"])
else:
    SECRET_KEY = envstr("DJANGO_SECRET_KEY", "")
    if not SECRET_KEY:
        raise ImproperlyConfigured("DJANGO_SECRET_KEY is required when DJANGO_DEBUG=0.")
    ALLOWED_HOSTS = envlist("DJANGO_ALLOWED_HOSTS", [])
    if not ALLOWED_HOSTS:
        raise ImproperlyConfigured("DJANGO_ALLOWED_HOSTS is required when DJANGO_DEBUG=0 (comma-separated host names).")

# HTTPS (on by default outside DEBUG): TLS ends in front of Django (in Pushpin or
# a proxy before it); Pushpin tells Django the client's scheme in X-Forwarded-Proto
# (set_x_forwarded_protocol in pushpin.conf) and Django listens on loopback only,
# so nobody else can set that header. See docs/deployment.md.
HTTPS = envbool("DJANGO_HTTPS", not DEBUG)
SECURE_SSL_REDIRECT = HTTPS
SESSION_COOKIE_SECURE = HTTPS
CSRF_COOKIE_SECURE = HTTPS
if HTTPS:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
# HSTS is sticky in browsers: off until the operator turns it on.
SECURE_HSTS_SECONDS = envint("DJANGO_HSTS_SECONDS", 0, minimum=0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = envbool("DJANGO_HSTS_INCLUDE_SUBDOMAINS", False)
SECURE_HSTS_PRELOAD = envbool("DJANGO_HSTS_PRELOAD", False)

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "axes",
    "django_eventstream",
    "django_htmx",
    "dashboards_live",
    # your apps with dashboards.py / feeds.py, when not listed above
    *envlist("DASHBOARDS_APPS", []),
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    # turns a locked-out login into config.loginlimit.locked_out's page; last, as axes asks
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"
ASGI_APPLICATION = "config.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]


def database_settings(url: str) -> dict[str, object]:
    """Django's settings for the database at `url` (DATABASE_URL): SQLite or PostgreSQL.

    The test suite builds a stack's connection with it too, so the two agree.
    """
    # CONN_HEALTH_CHECKS: a persistent connection that a database restart broke
    # is replaced at the next request instead of failing it
    parsed = dj_database_url.parse(url, conn_max_age=600, conn_health_checks=True)
    database: dict[str, object] = dict(parsed)
    options: dict[str, object] = {}
    if database["ENGINE"] == "django.db.backends.sqlite3":
        # The web process reads while feeds write: WAL lets readers go on during a
        # write, and IMMEDIATE transactions avoid "database is locked" upgrades.
        options = {
            # SQLite checkpoints the WAL inside the commit that crosses wal_autocheckpoint
            # pages: at the default (1000, every ~100 events) a 4-5 ms stall at the p99
            # of every publish. Publishers checkpoint on a thread of their own instead
            # (storage.sqlite.checkpoint_soon); the commit's own checkpoint is a rare backstop.
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA wal_autocheckpoint=10000;",
            "transaction_mode": "IMMEDIATE",
            "timeout": 20,
        }
    elif database["ENGINE"] == "django.db.backends.postgresql":
        # psycopg 3: give up on an unreachable server within seconds, not the
        # kernel's TCP timeout (over two minutes)
        options = {"connect_timeout": 10}
    # options in the URL's query string (?sslmode=require) win
    database["OPTIONS"] = {**options, **(parsed.get("OPTIONS") or {})}
    return database


DATABASES = {"default": database_settings(envstr("DATABASE_URL", f"sqlite:///{VAR_DIR / 'db.sqlite3'}"))}

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = VAR_DIR / "static"
# Without collectstatic (local use, tests) WhiteNoise serves straight from the apps.
WHITENOISE_USE_FINDERS = envbool("DASHBOARDS_STATIC_FROM_APPS", True)

# Private channels send anonymous visitors here (any active user may log in).
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "/"
LOGOUT_REDIRECT_URL = "login"

# Login limits (django-axes, config/loginlimit.py; docs/security.md): after
# DJANGO_LOGIN_FAILURE_LIMIT failures for one username from one address, or
# DJANGO_LOGIN_ADDRESS_FAILURE_LIMIT from one address whatever the username, logins
# from there are refused with a 429 for DJANGO_LOGIN_COOLOFF seconds after the last
# attempt, before any password is hashed. `python manage.py axes_reset` unlocks.
AUTHENTICATION_BACKENDS = [
    "config.loginlimit.LoginLimitBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AXES_HANDLER = "config.loginlimit.LoginLimitHandler"
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_FAILURE_LIMIT = envint("DJANGO_LOGIN_FAILURE_LIMIT", 5, minimum=1)
LOGIN_ADDRESS_FAILURE_LIMIT = envint("DJANGO_LOGIN_ADDRESS_FAILURE_LIMIT", 20, minimum=0)
AXES_COOLOFF_TIME = timedelta(seconds=envfloat("DJANGO_LOGIN_COOLOFF", 900.0, minimum=1))
AXES_RESET_ON_SUCCESS = True
# axes' history of successful logins grows without bound and nothing reads it
AXES_DISABLE_ACCESS_LOG = True
AXES_LOCKOUT_CALLABLE = "config.loginlimit.locked_out"
AXES_CLIENT_IP_CALLABLE = "config.loginlimit.client_address"
# Django listens on loopback behind Pushpin, whose config writes X-Forwarded-For
# (x_forwarded_for=truncate:0,append): its left-most entry is the client. Off: the
# TCP peer (REMOTE_ADDR), for a Django that clients reach without Pushpin.
LOGIN_TRUST_X_FORWARDED_FOR = envbool("DJANGO_LOGIN_TRUST_X_FORWARDED_FOR", True)

# --- Pushpin and django-eventstream -----------------------------------------
# GRIP_URL is Pushpin's publish endpoint plus the key Pushpin signs requests
# with (sig_key). Publishers post to it; the web process verifies Grip-Sig with
# it. `python manage.py runpushpin` configures Pushpin from the same value.
# Do not also set GRIP_PROXIES (django-grip appends GRIP_URL to it on every
# request) nor GRIP_PREFIX (it breaks django-eventstream's recovery).
if "GRIP_URL" in os.environ:
    GRIP_URL = os.environ["GRIP_URL"]
else:
    _grip_key = local_secret(VAR_DIR / "grip-key")
    GRIP_URL = "http://127.0.0.1:5561?" + urlencode({"key": _grip_key, "verify-iss": "pushpin"})


# The app's settings, from the environment here; each has a default in the app
# (dashboards_live/conf.py) and docs/configuration.md says what it does.
DASHBOARDS_VAR_DIR = VAR_DIR
# Largest event data accepted by publishing, in bytes of UTF-8.
DASHBOARDS_MAX_DATA_BYTES = envint("DASHBOARDS_MAX_DATA_BYTES", 64 * 1024, minimum=1)
# More Pushpin instances to publish every event to, beside GRIP_URL's
# (comma-separated URLs of the same form, with the same key): see docs/deployment.md,
# "Several Pushpin instances".
DASHBOARDS_PUBLISH_URLS = envlist("DASHBOARDS_PUBLISH_URLS", [])
# Bound on one publish to Pushpin, connecting included (seconds).
DASHBOARDS_PUBLISH_TIMEOUT = envfloat("DASHBOARDS_PUBLISH_TIMEOUT", 5.0, minimum=0.01)
# Stored events (replay, late-join pages) are trimmed once a minute, in small
# batches beside the publishers: those older than DASHBOARDS_RETENTION seconds
# and those more than DASHBOARDS_RETENTION_EVENTS behind a channel's newest
# (0: no cap). The newest event of every component is always kept, so a page
# opened after a quiet day still shows current values.
# Frames carry their own browser id, the same bytes for every subscriber, and
# streams skip Pushpin's per-delivery user-list check (skip-users). Off:
# django-eventstream's own items (ids built per subscriber), for a project whose
# send_event(skip_user_ids=...) must really skip those users.
DASHBOARDS_SHARED_FRAMES = envbool("DASHBOARDS_SHARED_FRAMES", True)
DASHBOARDS_RETENTION = envfloat("DASHBOARDS_RETENTION", 24 * 3600.0, minimum=1)
DASHBOARDS_RETENTION_EVENTS = envint("DASHBOARDS_RETENTION_EVENTS", 100_000, minimum=0)
# A reconnect (Last-Event-ID) replays the newest event of each whole-state component
# and at most this many of the newest events that are not whole state (a log, or a
# send_event name no component declared).
DASHBOARDS_REPLAY_MAX_EVENTS = envint("DASHBOARDS_REPLAY_MAX_EVENTS", 100, minimum=1)
# Streams only through Pushpin (signed). Direct streaming hangs a WSGI worker per
# client; allow it only for development with an ASGI server.
DASHBOARDS_ALLOW_DIRECT_STREAMING = envbool("DASHBOARDS_ALLOW_DIRECT_STREAMING", False)
# Who may read which channel (and open its dashboard page): channel names or
# fnmatch patterns -> "public", "authenticated", "staff" or "group:<name>".
# Exact names win, then the first matching pattern; unlisted channels are
# refused, except "demo" (public unless listed). From the environment:
# DASHBOARDS_CHANNELS="demo=public,ops.*=staff,sales=group:sales"
DASHBOARDS_CHANNELS = envmap("DASHBOARDS_CHANNELS", {"demo": "public"})
# Extra modules that declare feeds, beside every installed app's `feeds` module.
DASHBOARDS_FEED_MODULES = envlist("DASHBOARDS_FEED_MODULES", ["dashboards_live.declaring.demo"])
# The htmx line the pages load: "2" or "4" (unset: django-htmx's default).
DASHBOARDS_HTMX = envstr("DASHBOARDS_HTMX", "") or None

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"},
    },
    "handlers": {
        "stderr": {"class": "logging.StreamHandler", "formatter": "plain"},
    },
    "loggers": {
        "dashboards_live": {"handlers": ["stderr"], "level": "INFO", "propagate": False},
        # every 500 with its traceback, where systemd and docker collect it (Django's
        # default sends them to mail_admins only when DEBUG is off)
        "django.request": {"handlers": ["stderr"], "level": "ERROR", "propagate": False},
        # each failed login and each lock-out, one line
        "axes": {"handlers": ["stderr"], "level": "WARNING", "propagate": False},
    },
}

# The address users open (printed by demo_feed): Pushpin's client port.
DASHBOARDS_PUBLIC_URL = envstr("DASHBOARDS_PUBLIC_URL", "http://127.0.0.1:7999/")
