"""Dashboard components: a value in, an HTML fragment out.

Every event carries a component's whole rendered state, so a missed event heals
with the next one. `next_state()` turns a value into that state (plain JSON
data), `render()` turns the state into the fragment that travels in the event,
and `render_slot()` is the element on the page that swaps it in (`sse-swap` =
the key). A Chart's next state depends on its previous one, so its state is
stored beside its fragment as data (`stored_state()`, read back with
`restore()`): a process that did not draw the chart can still append to it.
"""

from __future__ import annotations

from dashboards_live.declaring.components.base import Component, InvalidValue
from dashboards_live.declaring.components.chart import Chart
from dashboards_live.declaring.components.gauge import Gauge
from dashboards_live.declaring.components.numbers import threshold_level
from dashboards_live.declaring.components.stat import Stat, StatValue
from dashboards_live.declaring.components.table import Table
from dashboards_live.declaring.components.text import Text

__all__ = [
    "Chart",
    "Component",
    "Gauge",
    "InvalidValue",
    "Stat",
    "StatValue",
    "Table",
    "Text",
    "threshold_level",
]
