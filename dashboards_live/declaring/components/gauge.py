"""Gauge: a number within a range, drawn as an HTML <meter>."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from dashboards_live.declaring.components.base import Component, InvalidValue, is_number, optional_number
from dashboards_live.declaring.components.numbers import BADGES, attr_number, number_text, threshold_level


@dataclass(frozen=True)
class Meter:
    """A <meter>'s attributes, as text; low/high/optimum are "" without thresholds."""

    min: str
    max: str
    value: str
    low: str = ""
    high: str = ""
    optimum: str = ""


class Gauge(Component):
    """A number within a range, drawn as an HTML <meter> with its value as text."""

    template_name = "dashboards_live/components/gauge.html"
    kind = "gauge"

    def __init__(
        self,
        key: str | None = None,
        *,
        title: str = "",
        min: float = 0.0,  # shadows the builtin: these are the names users write
        max: float = 100.0,
        unit: str = "",
        warn: float | None = None,
        critical: float | None = None,
        width: int = 1,
        poll_rate: float | None = None,
        stale_after: float | None = None,
    ) -> None:
        super().__init__(key, title=title, width=width, poll_rate=poll_rate, stale_after=stale_after)
        lo, hi = optional_number(min, "min"), optional_number(max, "max")
        if lo is None or hi is None or not lo < hi:
            raise ValueError(f"a Gauge needs finite min < max, not min={min!r}, max={max!r}")
        self.min, self.max = lo, hi
        self.unit = unit
        self.warn = optional_number(warn, "warn")
        self.critical = optional_number(critical, "critical")

    def next_state(self, previous: Any, value: Any, at: float | None = None) -> dict[str, Any]:
        if is_number(value):
            return {"value": float(value), "text": None}
        if isinstance(value, dict):
            unknown = set(value) - {"value", "text"}
            if unknown:
                raise InvalidValue(f"unknown Gauge field(s): {', '.join(sorted(map(str, unknown)))}")
            number, text = value.get("value"), value.get("text")
            if not is_number(number):
                raise InvalidValue('a Gauge "value" is a finite number')
            if text is not None and not isinstance(text, str):
                raise InvalidValue('a Gauge "text" is a string')
            return {"value": float(number), "text": text}
        raise InvalidValue('a Gauge value is a finite number or an object with "value"')

    def meter(self, value: float) -> Meter:
        def clamp(x: float) -> str:
            return attr_number(min_max(x, self.min, self.max))

        bounds = Meter(clamp(self.min), clamp(self.max), clamp(value))
        warn, critical = self.warn, self.critical
        if warn is None and critical is None:
            return bounds
        if warn is not None and critical is not None and warn > critical:
            # lower is worse: the optimum sits above "high"
            return Meter(bounds.min, bounds.max, bounds.value, clamp(critical), clamp(warn), clamp(self.max))
        low = warn if warn is not None else critical
        high = critical if critical is not None else self.max
        assert low is not None  # one of the two is given
        return Meter(bounds.min, bounds.max, bounds.value, clamp(low), clamp(high), clamp(self.min))

    def context(self, state: Any) -> dict[str, Any]:
        gauge = self.next_state(None, state)
        value: float = gauge["value"]
        level = threshold_level(value, self.warn, self.critical) or "ok"
        return {
            "meter": self.meter(value),
            "number": f"{number_text(value)}{self.unit}",
            "text": gauge["text"],
            "level": level,
            "badge": BADGES.get(level, ""),
        }


def min_max(value: float, lo: float, hi: float) -> float:
    return lo if value < lo else hi if value > hi else value
