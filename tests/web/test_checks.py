from __future__ import annotations

from typing import Any

import pytest
from django.core.checks import CheckMessage

from dashboards_live.web.checks import check_channel_rules, check_direct_streaming, check_grip, check_htmx


def ids(messages: list[CheckMessage]) -> list[str | None]:
    return [m.id for m in messages]


@pytest.mark.parametrize(
    ("grip_url", "expected"),
    [
        ("http://127.0.0.1:5561?key=s3cret&verify-iss=pushpin", []),
        ("http://127.0.0.1:5561", ["dashboards_live.E002"]),  # django-grip would trust any Grip-Sig
        ("http://127.0.0.1:5561?verify-key=s3cret", ["dashboards_live.E003"]),  # django-grip would crash
        ("http://127.0.0.1:5561?key=changeme", ["dashboards_live.E004"]),
        ("", ["dashboards_live.E001"]),
    ],
)
def test_grip_url_check(settings, grip_url: str, expected: list[str]) -> None:
    settings.GRIP_URL = grip_url
    assert ids(check_grip()) == expected


def test_grip_proxies_and_verify_key_are_checked_too(settings) -> None:
    settings.GRIP_URL = "http://127.0.0.1:5561?key=s3cret"
    settings.GRIP_PROXIES = [{"control_uri": "http://other:5561"}]
    assert ids(check_grip()) == ["dashboards_live.W002", "dashboards_live.E002"]
    settings.GRIP_VERIFY_KEY = "v"
    assert ids(check_grip()) == ["dashboards_live.W002", "dashboards_live.E003"]


@pytest.mark.parametrize(
    ("debug", "allow", "expected"), [(False, True, ["dashboards_live.W001"]), (True, True, []), (False, False, [])]
)
def test_direct_streaming_warns_outside_debug(settings, debug: bool, allow: bool, expected: list[str]) -> None:
    settings.DEBUG = debug
    settings.DASHBOARDS_ALLOW_DIRECT_STREAMING = allow
    assert ids(check_direct_streaming()) == expected


def test_unknown_channel_rules_are_errors(settings) -> None:
    settings.DASHBOARDS_CHANNELS = {"demo": "public", "sales": "group:sales", "ops": "admins"}
    messages = check_channel_rules()
    assert ids(messages) == ["dashboards_live.E006"]
    assert "'ops'" in messages[0].msg and "admins" in messages[0].msg
    settings.DASHBOARDS_CHANNELS = ["demo"]
    assert ids(check_channel_rules()) == ["dashboards_live.E005"]


# -- the three steps: each missing piece is an error that names the fix -------


def installation(settings: Any) -> list[CheckMessage]:
    from dashboards_live.web.checks import check_installation

    return check_installation()


def test_the_reference_project_is_installed_completely(settings: Any) -> None:
    assert installation(settings) == []


@pytest.mark.parametrize("app", ["django_eventstream", "django_htmx", "django.contrib.sessions"])
def test_a_missing_app_is_an_error_naming_it(settings: Any, app: str) -> None:
    settings.INSTALLED_APPS = [a for a in settings.INSTALLED_APPS if a != app]
    messages = installation(settings)
    assert ids(messages) == ["dashboards_live.E010"]
    assert repr(app) in messages[0].msg and "INSTALLED_APPS" in (messages[0].hint or "")


@pytest.mark.parametrize(
    "middleware",
    ["django.contrib.sessions.middleware.SessionMiddleware", "django.contrib.auth.middleware.AuthenticationMiddleware"],
)
def test_a_missing_middleware_is_an_error_naming_it(settings: Any, middleware: str) -> None:
    settings.MIDDLEWARE = [m for m in settings.MIDDLEWARE if m != middleware]
    messages = installation(settings)
    assert ids(messages) == ["dashboards_live.E011"]
    assert middleware in (messages[0].hint or "")


def test_urls_not_mounted_is_an_error_that_shows_the_include(settings: Any) -> None:
    settings.ROOT_URLCONF = "tests.support.urls_without_the_app"
    messages = installation(settings)
    assert ids(messages) == ["dashboards_live.E012"]
    assert 'include("dashboards_live.urls")' in (messages[0].hint or "")


def test_the_urls_may_be_mounted_under_any_prefix(settings: Any) -> None:
    from django.urls import reverse

    settings.ROOT_URLCONF = "tests.support.urls_under_a_prefix"
    assert installation(settings) == []
    assert reverse("dashboards_live:events", args=["demo"]) == "/live/events/demo/"


def test_another_eventstream_storage_is_an_error(settings: Any) -> None:
    settings.EVENTSTREAM_STORAGE_CLASS = "django_eventstream.storage.DjangoModelStorage"
    assert ids(installation(settings)) == ["dashboards_live.E013"]


def test_no_request_context_processor_is_a_warning(settings: Any) -> None:
    engine = dict(settings.TEMPLATES[0])
    processors = engine["OPTIONS"]["context_processors"]
    engine["OPTIONS"] = {"context_processors": [p for p in processors if not p.endswith(".request")]}
    settings.TEMPLATES = [engine]
    assert ids(installation(settings)) == ["dashboards_live.W003"]


def test_no_grip_url_is_an_error(settings: Any) -> None:
    del settings.GRIP_URL
    assert ids(check_grip()) == ["dashboards_live.E001"]


@pytest.mark.parametrize(("value", "expected"), [(None, []), ("2", []), (4, []), ("3", ["dashboards_live.E007"])])
def test_the_htmx_line_is_2_or_4(settings: Any, value: object, expected: list[str]) -> None:
    settings.DASHBOARDS_HTMX = value
    assert ids(check_htmx()) == expected
