from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from dashboards.permissions import AllowAny, BasePermission, IsAdminUser, IsAuthenticated
from django.core.checks import Error
from django.test import override_settings

from dashboards_live.contrib.django_dashboards import LiveDashboard, SSEStat
from dashboards_live.contrib.django_dashboards import components as live_components
from dashboards_live.contrib.django_dashboards.checks import check_live_dashboards
from dashboards_live.declaring.dashboards import registry


def ids(**rules: str) -> list[str]:
    with override_settings(DASHBOARDS_CHANNELS={**rules, "*": "public"}):
        return [m.id for m in check_live_dashboards() if m.id]


@pytest.fixture
def declared() -> Iterator[list[type[LiveDashboard]]]:
    made: list[type[LiveDashboard]] = []
    yield made
    for dashboard in made:
        assert dashboard.live is not None
        registry.remove(dashboard.live)


def live(made: list[type[LiveDashboard]], channel: str, *permissions: type[BasePermission]) -> None:
    meta = type("Meta", (), {"app_label": "ddapp", "permission_classes": list(permissions)})
    made.append(type(f"Check{len(made)}", (LiveDashboard,), {"channel": channel, "Meta": meta, "n": SSEStat()}))


def test_a_staff_only_page_on_a_public_channel_is_an_error(ddapp: Any) -> None:
    # tests/support/ddapp's StaffDashboard: IsAdminUser, on channel staffshop
    assert ids(staffshop="public") == ["dashboards_live.django_dashboards.E001"]
    assert ids(staffshop="authenticated") == ["dashboards_live.django_dashboards.E001"]
    assert ids(staffshop="group:ops") == ["dashboards_live.django_dashboards.E001"]
    assert ids(staffshop="staff") == []


def test_rules_that_admit_no_more_than_the_page_pass(ddapp: Any, declared: list[type[LiveDashboard]]) -> None:
    live(declared, "c-auth", IsAuthenticated)
    live(declared, "c-both", IsAuthenticated, IsAdminUser)
    assert ids(staffshop="staff", **{"c-auth": "authenticated", "c-both": "staff"}) == []
    assert ids(staffshop="staff", **{"c-auth": "public", "c-both": "staff"}) == [
        "dashboards_live.django_dashboards.E001"
    ]


def test_a_channel_stricter_than_the_page_is_a_warning(ddapp: Any, declared: list[type[LiveDashboard]]) -> None:
    live(declared, "c-open", AllowAny)
    live(declared, "c-auth", IsAuthenticated)
    assert ids(staffshop="staff", **{"c-open": "staff", "c-auth": "group:ops"}) == [
        "dashboards_live.django_dashboards.W002",
        "dashboards_live.django_dashboards.W002",
    ]


def test_a_permission_class_of_its_own_cannot_be_compared(ddapp: Any, declared: list[type[LiveDashboard]]) -> None:
    class Ours(BasePermission):  # type: ignore[misc]
        pass

    live(declared, "c-own", Ours)
    assert ids(staffshop="staff", **{"c-own": "staff"}) == ["dashboards_live.django_dashboards.W001"]


def test_a_live_component_on_a_class_that_is_no_live_dashboard_is_an_error(ddapp: Any) -> None:
    class Plain:
        orphan = SSEStat()

    try:
        [message] = check_live_dashboards()
        assert isinstance(message, Error) and message.id == "dashboards_live.django_dashboards.E002"
        assert "SSEStat('orphan')" in message.msg
    finally:
        live_components.declared.remove(Plain.orphan)
