from __future__ import annotations

import pytest
from django.core.checks import CheckMessage

from dashboards_live.web.checks import check_channel_rules, check_direct_streaming, check_grip


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
