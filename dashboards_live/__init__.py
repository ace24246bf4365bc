"""Live Django dashboards: declare a Dashboard, feed it from a loop, push to it from your code.

    from dashboards_live import Chart, Dashboard, Stat, feed, push

The names are loaded on first use, so importing the package (as Django does
when it loads the app) imports nothing that needs the app registry.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

_EXPORTS = {
    "Chart": "declaring.components",
    "Component": "declaring.components",
    "Gauge": "declaring.components",
    "InvalidValue": "declaring.components",
    "Stat": "declaring.components",
    "Table": "declaring.components",
    "Text": "declaring.components",
    "InvalidEvent": "contract",
    "Published": "contract",
    "Dashboard": "declaring.dashboards",
    "Section": "declaring.dashboards",
    "PublishError": "errors",
    "feed": "declaring.feeds",
    "NotOnADashboard": "publishing.push",
    "push": "publishing.push",
    "push_many": "publishing.push",
}

__all__ = [
    "Chart",
    "Component",
    "Dashboard",
    "Gauge",
    "InvalidEvent",
    "InvalidValue",
    "NotOnADashboard",
    "PublishError",
    "Published",
    "Section",
    "Stat",
    "Table",
    "Text",
    "feed",
    "push",
    "push_many",
]

if TYPE_CHECKING:
    from dashboards_live.contract import InvalidEvent, Published
    from dashboards_live.declaring.components import Chart, Component, Gauge, InvalidValue, Stat, Table, Text
    from dashboards_live.declaring.dashboards import Dashboard, Section
    from dashboards_live.declaring.feeds import feed
    from dashboards_live.errors import PublishError
    from dashboards_live.publishing.push import NotOnADashboard, push, push_many


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'dashboards_live' has no attribute {name!r}")
    value = getattr(importlib.import_module(f"dashboards_live.{module}"), name)
    globals()[name] = value
    return value
