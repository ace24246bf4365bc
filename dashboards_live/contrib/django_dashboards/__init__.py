"""Live components for django-dashboards: `pip install "dashboards_live[django-dashboards]"`.

    INSTALLED_APPS += ["dashboards", "dashboards_live.contrib.django_dashboards"]

    from dashboards.component import Stat
    from dashboards_live.contrib.django_dashboards import LiveDashboard, SSEChart, SSEStat

    class ShopDashboard(LiveDashboard):
        channel = "shop"
        orders = SSEStat()
        revenue = SSEChart()
        visitors = Stat(value={"text": "1,204"})

Only this package imports django-dashboards (and so pandas and plotly): the
rest of dashboards_live never does. docs/django-dashboards.md walks through it.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from dashboards_live.contrib.django_dashboards.components import SSEChart, SSEStat, SSEText
    from dashboards_live.contrib.django_dashboards.dashboard import LiveDashboard

__all__ = ["LiveDashboard", "SSEChart", "SSEStat", "SSEText"]
_HOMES = {"LiveDashboard": "dashboard", "SSEChart": "components", "SSEStat": "components", "SSEText": "components"}


def __getattr__(name: str) -> Any:
    # Django imports this package while it loads the apps; django-dashboards'
    # classes may only be declared once they are loaded, so they are imported on first use
    if name not in _HOMES:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(import_module(f"{__name__}.{_HOMES[name]}"), name)
