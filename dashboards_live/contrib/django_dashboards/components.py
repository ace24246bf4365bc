"""django-dashboards components that are also live components.

`SSEStat` is a django-dashboards `Stat` (it sits on a django-dashboards
Dashboard and looks exactly like one: the same template renders it) and a
dashboards_live `Component` (so `push()`, `@feed`, `sendevent --render` and the
stream work with it). Its key is its attribute name from the moment the class is
declared; its channel is the `LiveDashboard`'s, which claims it when declared.

The two libraries both call a method `render`: dashboards_live with a state,
django-dashboards with `context=`. `render()` below tells them apart by that
keyword, and is the one place they meet.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, ClassVar

from dashboards.component import Chart, Stat, Text
from dashboards.component import Component as DashboardsComponent
from dashboards.config import Config
from django.template import Context
from django.utils.safestring import SafeString, mark_safe

from dashboards_live.contract import validate_event_name
from dashboards_live.declaring.components import Component, InvalidValue
from dashboards_live.declaring.components.base import is_number

# every live component declared on any class, for the check that finds those no LiveDashboard claimed
declared: list[LiveComponent] = []


class LiveComponent(Component):
    """What SSEStat, SSEText and SSEChart add to their django-dashboards kind (always first in the bases)."""

    # django-dashboards keys its default CSS classes by class name: a live Stat wears a Stat's
    looks_like: ClassVar[str] = ""

    # dataclasses compare by value and so are unhashable; a component is one declared thing
    __eq__ = object.__eq__
    __hash__ = object.__hash__

    # set by the dataclass __init__ of the django-dashboards kind
    key: str
    poll_rate: float | None
    css_classes: Any
    stale_after: float | None

    def __post_init__(self) -> None:
        given = self.css_classes
        super().__post_init__()  # type: ignore[misc]
        defaults = Config().DASHBOARDS_COMPONENT_CLASSES.get(self.looks_like)
        if given is None:
            self.css_classes = defaults
        elif isinstance(given, dict) and isinstance(defaults, dict):
            self.css_classes = {**defaults, **given}
        # what Component.__init__ sets: the dataclass __init__ ran instead of it
        self._key_given = self.key is not None
        self.key = "" if self.key is None else validate_event_name(self.key)
        self.attribute = None
        self.title = ""
        self.width = 1
        self._template = None
        if self.poll_rate is not None and (not is_number(self.poll_rate) or self.poll_rate <= 0):
            raise ValueError(f"poll_rate is a positive number of seconds or None, not {self.poll_rate!r}")
        if self.stale_after is not None and (not is_number(self.stale_after) or self.stale_after <= 0):
            raise ValueError(f"stale_after is a positive number of seconds or None, not {self.stale_after!r}")

    def __set_name__(self, owner: type, name: str) -> None:
        super().__set_name__(owner, name)
        declared.append(self)

    def render(
        self,
        state: Any = None,
        *,
        context: Context | None = None,
        htmx: bool | None = None,
        call_deferred: bool = False,
    ) -> str:
        if context is None:
            return super().render(state)
        # django-dashboards draws its page: its own wrapper, our slot inside (see render_value)
        return str(DashboardsComponent.render(self, context=context, htmx=htmx, call_deferred=call_deferred))

    def render_value(self, context: Context, call_deferred: bool = False) -> SafeString:
        """What django-dashboards shows inside its component wrapper: the slot, rendered from the last stored value."""
        slots = context.get("live_slots") or {}
        slot = slots.get(self.key)
        if slot is None:
            # a page or partial that did not render the region (django-dashboards' component view)
            from dashboards_live.contrib.django_dashboards.dashboard import slots_for

            slot = slots_for(self.dashboard, [self])[self.key]
        return mark_safe(slot)

    def context(self, state: Any) -> dict[str, Any]:
        return {"rendered_value": state}

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.key!r})"


@dataclass(eq=False, repr=False)
class SSEStat(LiveComponent, Stat):  # type: ignore[misc]
    """A django-dashboards Stat that updates live. Values: a number, a string, or {"text", "sub_text", "change_by"}."""

    kind: ClassVar[str] = "dd-stat"
    looks_like: ClassVar[str] = "Stat"
    stale_after: float | None = None
    # events carry its values; not None, or django-dashboards warns at every page view that it has none
    value: Any = ""

    def next_state(self, previous: Any, value: Any, at: float | None = None) -> Any:
        if is_number(value):
            return {"text": f"{value:,}" if isinstance(value, int) else f"{value:,.6g}"}
        if isinstance(value, str):
            return {"text": value}
        if isinstance(value, dict):
            unknown = set(value) - {"text", "sub_text", "change_by", "change_by_text"}
            if unknown:
                raise InvalidValue(f"unknown Stat field(s): {', '.join(sorted(map(str, unknown)))}")
            if not isinstance(value.get("text"), str | int | float) or isinstance(value.get("text"), bool):
                raise InvalidValue('a Stat value needs "text" (a string or a number)')
            for name in ("sub_text", "change_by_text"):
                if not isinstance(value.get(name, ""), str):
                    raise InvalidValue(f'Stat "{name}" must be a string')
            change = value.get("change_by")
            if change is not None and not is_number(change):
                raise InvalidValue('Stat "change_by" must be a finite number or null')
            state = {"text": str(value["text"]), "sub_text": value.get("sub_text", "")}
            if change is not None or value.get("change_by_text"):
                state["change_by"] = change
                # what django-dashboards' StatData shows beside the arrow
                state["change_by_display"] = value.get("change_by_text") or change
            return state
        raise InvalidValue('a Stat value is a number, a string or an object with "text"')


@dataclass(eq=False, repr=False)
class SSEText(LiveComponent, Text):  # type: ignore[misc]
    """A django-dashboards Text that updates live. Values: a string (escaped unless mark_safe=True)."""

    kind: ClassVar[str] = "dd-text"
    looks_like: ClassVar[str] = "Text"
    stale_after: float | None = None
    # events carry its values; not None, or django-dashboards warns at every page view that it has none
    value: Any = ""

    def next_state(self, previous: Any, value: Any, at: float | None = None) -> Any:
        if is_number(value):
            return str(value)
        if not isinstance(value, str):
            raise InvalidValue("a Text value is a string")
        return value


@dataclass(eq=False, repr=False)
class SSEChart(LiveComponent, Chart):  # type: ignore[misc]
    """The Plotly chart django-dashboards draws, redrawn in place with each new figure.

    Values: a Plotly figure (`go.Figure`, its `to_json()` text, or a dict with
    "data" and "layout"), or a list of numbers (one line). The event carries the
    figure as JSON data, never a script: the page's django_dashboards.js hands
    it to `Plotly.react` on the chart already drawn.
    """

    kind: ClassVar[str] = "dd-chart"
    looks_like: ClassVar[str] = "Chart"
    announces: ClassVar[bool] = False
    live_template_name: ClassVar[str] = "dashboards_live/django_dashboards/chart.html"
    stale_after: float | None = None
    # events carry its values; not None, or django-dashboards warns at every page view that it has none
    value: Any = ""

    class Media:
        js = ("dashboards/vendor/js/plotly.min.js", "dashboards_live/django_dashboards.js")

    def next_state(self, previous: Any, value: Any, at: float | None = None) -> Any:
        if isinstance(value, list) and all(is_number(v) for v in value):
            return {"data": [{"type": "scatter", "mode": "lines", "y": value}], "layout": {}}
        if hasattr(value, "to_plotly_json"):
            value = value.to_json()
        if isinstance(value, str | bytes):
            try:
                value = json.loads(value)
            except ValueError:
                raise InvalidValue("a Chart value given as text is a Plotly figure's JSON") from None
        if not isinstance(value, dict) or not isinstance(value.get("data"), list):
            raise InvalidValue(
                'a Chart value is a Plotly figure, or an object with a "data" list, or a list of numbers'
            )
        from plotly.utils import PlotlyJSONEncoder

        # numpy arrays and dates become JSON here, once, as plotly's own to_json does
        figure = json.loads(json.dumps(value, cls=PlotlyJSONEncoder))
        return {"data": figure["data"], "layout": figure.get("layout") or {}}

    def render(
        self,
        state: Any = None,
        *,
        context: Context | None = None,
        htmx: bool | None = None,
        call_deferred: bool = False,
    ) -> str:
        if context is not None:
            return super().render(context=context, htmx=htmx, call_deferred=call_deferred)
        if self._template is None:
            from django.template.loader import get_template

            self._template = get_template(self.live_template_name)
        html_text: str = self._template.render({"component": self, **self.context(state)})
        return html_text.strip()

    def context(self, state: Any) -> dict[str, Any]:
        config = {
            "displayModeBar": "hover" if self.displayModeBar else False,
            "staticPlot": bool(self.staticPlot),
            "responsive": bool(self.responsive),
        }
        return {"figure": state, "config": json.dumps(config)}
