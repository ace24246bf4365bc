"""System checks (`python manage.py check`) for settings that fail silently otherwise."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.checks import CheckMessage, Error, Tags, Warning, register

from dashboards_live import conf
from dashboards_live.errors import ConfigError
from dashboards_live.web.channels import InvalidRule, validate_rule

# what the app needs beside itself, and the line that adds it
REQUIRED_APPS = {
    "django.contrib.auth": "users, for the channel rules",
    "django.contrib.contenttypes": "django.contrib.auth needs it",
    "django.contrib.sessions": "the logged-in user on pages and streams",
    "django_eventstream": "the event stream view and send_event",
    "django_htmx": "the {% htmx_script %} the pages load htmx and its SSE extension with",
}
REQUIRED_MIDDLEWARE = (
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
)


@register()
def check_installation(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    """The three steps (INSTALLED_APPS, one include(), GRIP_URL) and what they rely on."""
    from django.apps import apps
    from django.urls import NoReverseMatch, reverse

    errors: list[CheckMessage] = []
    for app, why in REQUIRED_APPS.items():
        if not apps.is_installed(app):
            errors.append(
                Error(
                    f"{app!r} is not in INSTALLED_APPS ({why}).",
                    hint=f"Add {app!r} to INSTALLED_APPS, beside 'dashboards_live'.",
                    id="dashboards_live.E010",
                )
            )
    middleware = list(getattr(settings, "MIDDLEWARE", None) or [])
    for name in REQUIRED_MIDDLEWARE:
        if name not in middleware:
            errors.append(
                Error(
                    f"{name!r} is not in MIDDLEWARE: pages and streams could not tell who is reading.",
                    hint=f"Add {name!r} to MIDDLEWARE (after SessionMiddleware for the auth one).",
                    id="dashboards_live.E011",
                )
            )
    try:
        reverse("dashboards_live:events", args=["demo"])
    except NoReverseMatch:
        errors.append(
            Error(
                "the app's URLs are not mounted: no page could link to its dashboards or streams.",
                hint='Add path("", include("dashboards_live.urls")) (any prefix) to your ROOT_URLCONF.',
                id="dashboards_live.E012",
            )
        )
    for name, ours in conf.EVENTSTREAM_DEFAULTS.items():
        if getattr(settings, name, ours) != ours:
            errors.append(
                Error(
                    f"{name} names {getattr(settings, name)!r}: events published with send_event would not "
                    "get this app's ids, or streams would skip its channel rules.",
                    hint=f"Remove {name} from your settings (the app sets {ours!r}).",
                    id="dashboards_live.E013",
                )
            )
    if not any(
        "django.template.context_processors.request" in engine.get("OPTIONS", {}).get("context_processors", [])
        for engine in getattr(settings, "TEMPLATES", [])
    ):
        errors.append(
            Warning(
                "the request context processor is off: the live template tags cannot see who is logged in, "
                "so they show only public channels.",
                hint="Add 'django.template.context_processors.request' to TEMPLATES' context_processors.",
                id="dashboards_live.W003",
            )
        )
    return errors


def grip_proxies() -> list[dict[str, Any]]:
    """The proxies django-grip verifies Grip-Sig against, as its middleware builds them."""
    from gripcontrol import parse_grip_uri

    proxies = [dict(p) for p in getattr(settings, "GRIP_PROXIES", None) or []]
    grip_url = getattr(settings, "GRIP_URL", None)
    if grip_url:
        proxies.append(parse_grip_uri(grip_url))
    verify_key = getattr(settings, "GRIP_VERIFY_KEY", None)
    if verify_key:
        for proxy in proxies:
            proxy.setdefault("verify_key", verify_key)
    return proxies


@register(Tags.security)
def check_grip(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    errors: list[CheckMessage] = []
    proxies = grip_proxies()
    if not proxies:
        errors.append(
            Error(
                "GRIP_URL is not set: nothing can publish to Pushpin or verify its Grip-Sig.",
                hint="Set GRIP_URL=http://127.0.0.1:5561?key=<long random key>&verify-iss=pushpin",
                id="dashboards_live.E001",
            )
        )
    if getattr(settings, "GRIP_PROXIES", None) and getattr(settings, "GRIP_URL", None):
        errors.append(
            Warning(
                "GRIP_PROXIES and GRIP_URL are both set: django-grip appends GRIP_URL to GRIP_PROXIES "
                "on every request.",
                hint="Use GRIP_URL only.",
                id="dashboards_live.W002",
            )
        )
    for proxy in proxies:
        where = proxy.get("control_uri", "?")
        if "key" not in proxy and "verify_key" not in proxy:
            errors.append(
                Error(
                    f"GRIP_URL ({where}) has no key=: django-grip would trust any Grip-Sig header.",
                    hint="Add ?key=<the sig_key Pushpin signs with> to GRIP_URL.",
                    id="dashboards_live.E002",
                )
            )
        elif "key" not in proxy:
            errors.append(
                Error(
                    f"GRIP_URL ({where}) has a verify key but no key=: django-grip fails on every signed request.",
                    hint="Put the key in key= (it is used to verify too) instead of verify-key= alone.",
                    id="dashboards_live.E003",
                )
            )
        elif proxy.get("verify_key", proxy["key"]) in ("changeme", b"changeme"):
            errors.append(
                Error(
                    f"GRIP_URL ({where}) uses Pushpin's stock key 'changeme', which anyone can sign with.",
                    hint="Use a long random key: python3 -c 'import secrets; print(secrets.token_urlsafe(32))'",
                    id="dashboards_live.E004",
                )
            )
    return errors


@register(Tags.security)
def check_direct_streaming(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    if conf.setting("DASHBOARDS_ALLOW_DIRECT_STREAMING") and not settings.DEBUG:
        return [
            Warning(
                "DASHBOARDS_ALLOW_DIRECT_STREAMING is on outside DEBUG: event streams are served without "
                "Pushpin's signature, and each one holds a Django worker.",
                hint="Unset DASHBOARDS_ALLOW_DIRECT_STREAMING in production; it is for development only.",
                id="dashboards_live.W001",
            )
        ]
    return []


@register(Tags.security)
def check_channel_rules(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    errors: list[CheckMessage] = []
    rules = conf.setting("DASHBOARDS_CHANNELS")
    if not isinstance(rules, dict):
        return [Error("DASHBOARDS_CHANNELS must be a dict of channel (or pattern) -> rule.", id="dashboards_live.E005")]
    for pattern, rule in rules.items():
        try:
            validate_rule(rule)
        except InvalidRule as exc:
            errors.append(
                Error(f"DASHBOARDS_CHANNELS[{pattern!r}]: {exc}; nobody can read it.", id="dashboards_live.E006")
            )
    return errors


@register()
def check_htmx(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    try:
        conf.htmx_line()
    except ConfigError as exc:
        return [Error(f"{exc}; the pages could not load htmx.", id="dashboards_live.E007")]
    return []


@register()
def check_dashboards(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    """Declared dashboards: what the classes recorded, duplicate names, channels no rule covers."""
    from dashboards_live.contract import InvalidEvent, validate_channel
    from dashboards_live.declaring.dashboards import autodiscover
    from dashboards_live.web.channels import ChannelRules

    errors: list[CheckMessage] = []
    rules = ChannelRules.from_settings()
    by_name: dict[str, str] = {}
    for dashboard in autodiscover().all():
        where = f"{dashboard.__module__}.{dashboard.__qualname__}"
        errors += [Error(str(p), obj=where, id=p.id) for p in dashboard.problems]
        if dashboard.name in by_name:
            errors.append(
                Error(
                    f"dashboard name {dashboard.name!r} is already taken by {by_name[dashboard.name]}",
                    hint="Give one of them another `name = ...`.",
                    obj=where,
                    id="dashboards_live.E024",
                )
            )
        by_name.setdefault(dashboard.name, where)
        try:
            validate_channel(dashboard.channel)
        except InvalidEvent as exc:
            errors.append(Error(f"channel: {exc}", obj=where, id="dashboards_live.E025"))
            continue
        if rules.rule_for(dashboard.channel) is None:
            errors.append(
                Error(
                    f"channel: {dashboard.channel!r} is not covered by DASHBOARDS_CHANNELS, "
                    "so nobody could read this dashboard.",
                    hint=f'Add a rule, e.g. DASHBOARDS_CHANNELS="{dashboard.channel}=staff".',
                    obj=where,
                    id="dashboards_live.E026",
                )
            )
    return errors
