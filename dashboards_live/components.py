"""Dashboard components: a value in, an HTML fragment out.

Every event carries a component's whole rendered state, so a missed event heals
with the next one. `render()` is the fragment that travels in the event; the SSE
variants add the slot on the page that swaps it in (`sse-swap` = the key).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from django.template.loader import get_template, render_to_string
from django.utils.safestring import SafeString, mark_safe

from dashboards_live.contract import validate_event_name


class InvalidValue(ValueError):
    """A value a component cannot render (wrong shape or type)."""


@dataclass(frozen=True)
class StatValue:
    text: str
    sub_text: str = ""
    change: float | None = None

    @classmethod
    def coerce(cls, value: Any) -> StatValue:
        if isinstance(value, StatValue):
            return value
        if isinstance(value, str | int | float) and not isinstance(value, bool):
            return cls(text=str(value))
        if isinstance(value, dict):
            unknown = set(value) - {"text", "sub_text", "change"}
            if unknown:
                raise InvalidValue(f"unknown Stat field(s): {', '.join(sorted(unknown))}")
            if "text" not in value:
                raise InvalidValue('a Stat value needs "text"')
            text, sub_text, change = value["text"], value.get("sub_text", ""), value.get("change")
            if not isinstance(text, str | int | float) or isinstance(text, bool):
                raise InvalidValue('Stat "text" must be a string or a number')
            if not isinstance(sub_text, str):
                raise InvalidValue('Stat "sub_text" must be a string')
            if change is not None and (
                not isinstance(change, int | float) or isinstance(change, bool) or not math.isfinite(change)
            ):
                raise InvalidValue('Stat "change" must be a finite number or null')
            return cls(text=str(text), sub_text=sub_text, change=change)
        raise InvalidValue('a Stat value is a string, a number or an object with "text"')


def _points(value: Any) -> list[float]:
    if not isinstance(value, list | tuple):
        raise InvalidValue("a Chart value is a list of numbers")
    points = []
    for point in value:
        if not isinstance(point, int | float) or isinstance(point, bool) or not math.isfinite(point):
            raise InvalidValue("Chart points must be finite numbers")
        points.append(float(point))
    return points


def _point(value: Any) -> float:
    if not isinstance(value, int | float) or isinstance(value, bool) or not math.isfinite(value):
        raise InvalidValue("a Chart point must be a finite number")
    return float(value)


class Component:
    """A piece of a dashboard. Its key is the SSE event name it swaps on."""

    template_name: str = ""
    kind: str = ""

    def __init__(self, key: str, *, title: str = "") -> None:
        # the key is the event name: the same rule, checked when the component is declared
        self.key = validate_event_name(key)
        self._template: Any = None
        self.title = title

    def next_state(self, previous: Any, value: Any) -> Any:
        """The state to render after `value` arrives (whole state, not a delta)."""
        raise NotImplementedError

    def context(self, state: Any) -> dict[str, Any]:
        raise NotImplementedError

    def render(self, state: Any) -> str:
        # the loaded template is kept: a feed renders the same one thousands of times
        if self._template is None:
            self._template = get_template(self.template_name)
        html = self._template.render({"component": self, **self.context(state)})
        return "\n".join(line for line in html.strip().splitlines() if line.strip())

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.key!r})"


class Stat(Component):
    """One headline value: text, a line under it, an optional change."""

    template_name = "components/stat.html"
    kind = "stat"

    def next_state(self, previous: Any, value: Any) -> StatValue:
        return StatValue.coerce(value)

    def context(self, state: Any) -> dict[str, Any]:
        stat = StatValue.coerce(state)
        direction = ""
        if stat.change is not None:
            direction = "up" if stat.change > 0 else "down" if stat.change < 0 else "flat"
        return {"stat": stat, "direction": direction}


@dataclass(frozen=True)
class Plot:
    """A chart's window laid out in the SVG's coordinate space."""

    polyline: str
    minimum: float | None
    maximum: float | None
    latest: float | None
    count: int


WIDTH, HEIGHT, PAD = 300.0, 100.0, 4.0


def plot(points: Sequence[float], window: int) -> Plot:
    if not points:
        return Plot("", None, None, None, 0)
    lo, hi = min(points), max(points)
    span = hi - lo or 1.0
    step = (WIDTH - 2 * PAD) / max(window - 1, 1)
    # right-aligned, so the newest point is always at the right edge
    x0 = PAD + (window - len(points)) * step
    coords = (
        f"{x0 + i * step:.1f},{HEIGHT - PAD - (p - lo) / span * (HEIGHT - 2 * PAD):.1f}" for i, p in enumerate(points)
    )
    return Plot(" ".join(coords), lo, hi, points[-1], len(points))


class Chart(Component):
    """A rolling window of points drawn on the server as inline SVG."""

    template_name = "components/chart.html"
    kind = "chart"

    def __init__(self, key: str, *, title: str = "", window: int = 60, unit: str = "") -> None:
        super().__init__(key, title=title)
        if window < 1:
            raise ValueError("a Chart window holds at least one point")
        self.window = window
        self.unit = unit

    def next_state(self, previous: Any, value: Any) -> list[float]:
        """A number appends a point to the window; a list replaces the window."""
        points = _points(value) if isinstance(value, list | tuple) else [*(previous or []), _point(value)]
        return points[-self.window :]

    def context(self, state: Any) -> dict[str, Any]:
        points = _points(state)[-self.window :]
        return {
            "plot": plot(points, self.window),
            "width": int(WIDTH),
            "height": int(HEIGHT),
        }


class SSEMixin:
    """Adds the page slot: an element whose sse-swap names this component's key.

    The slot lives inside the dashboard's single `sse-connect` element, so all of
    a dashboard's components share one EventSource.
    """

    key: str
    kind: str

    def render_slot(self, fragment: str | None) -> SafeString:
        return mark_safe(
            render_to_string(
                "components/sse_slot.html",
                {"component": self, "fragment": mark_safe(fragment) if fragment else None},
            )
        )


class SSEStat(SSEMixin, Stat):
    pass


class SSEChart(SSEMixin, Chart):
    pass
