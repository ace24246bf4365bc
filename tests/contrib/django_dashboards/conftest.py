"""The test project tests/support/ddapp installed for the module, its dashboards declared and forgotten after it."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from django.conf import settings
from django.test import override_settings

from dashboards_live.declaring.dashboards import autodiscover, registry

APPS = ["dashboards", "dashboards_live.contrib.django_dashboards", "tests.support.ddapp"]
RULES = {"staffshop": "staff", "*": "public"}


@pytest.fixture(scope="module", autouse=True)
def ddapp() -> Iterator[Any]:
    with (
        registry.scoped(),
        override_settings(
            INSTALLED_APPS=[*settings.INSTALLED_APPS, *APPS],
            ROOT_URLCONF="tests.support.ddapp.urls",
            DASHBOARDS_CHANNELS=RULES,
        ),
    ):
        autodiscover()
        from tests.support.ddapp import dashboards

        # imported once per process: a later module finds the classes declared, not registered
        for declared in (dashboards.ShopDashboard, dashboards.StaffDashboard):
            assert declared.live is not None
            registry.add(declared.live)
        yield dashboards
