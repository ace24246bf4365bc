"""Stat: one headline value, with a line under it, a change and a threshold level."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from dashboards_live.declaring.components.base import Component, InvalidValue, is_number, optional_number
from dashboards_live.declaring.components.numbers import BADGES, Level, leading_number, number_text, threshold_level


@dataclass(frozen=True)
class StatValue:
    text: str
    sub_text: str = ""
    change: float | None = None
    # the number thresholds compare; None means "read it from the text"
    value: float | None = None

    @classmethod
    def coerce(cls, value: Any) -> StatValue:
        if isinstance(value, StatValue):
            return value
        if is_number(value):
            return cls(text=str(value), value=float(value))
        if isinstance(value, str):
            return cls(text=value)
        if isinstance(value, dict):
            unknown = set(value) - {"text", "sub_text", "change", "value"}
            if unknown:
                raise InvalidValue(f"unknown Stat field(s): {', '.join(sorted(map(str, unknown)))}")
            number = value.get("value")
            if number is not None and not is_number(number):
                raise InvalidValue('Stat "value" must be a finite number or null')
            if "text" not in value and number is None:
                raise InvalidValue('a Stat value needs "text" (or a "value")')
            text = value["text"] if "text" in value else number_text(number) if number is not None else ""
            sub_text, change = value.get("sub_text", ""), value.get("change")
            if not isinstance(text, str) and not is_number(text):
                raise InvalidValue('Stat "text" must be a string or a number')
            if not isinstance(sub_text, str):
                raise InvalidValue('Stat "sub_text" must be a string')
            if change is not None and not is_number(change):
                raise InvalidValue('Stat "change" must be a finite number or null')
            return cls(
                text=str(text),
                sub_text=sub_text,
                change=None if change is None else float(change),
                value=None if number is None else float(number),
            )
        raise InvalidValue('a Stat value is a string, a number or an object with "text"')

    def as_state(self) -> dict[str, Any]:
        return {"text": self.text, "sub_text": self.sub_text, "change": self.change, "value": self.value}


class Stat(Component):
    """One headline value: text, a line under it, an optional change, optional thresholds."""

    template_name = "dashboards_live/components/stat.html"
    kind = "stat"

    def __init__(
        self,
        key: str | None = None,
        *,
        title: str = "",
        warn: float | None = None,
        critical: float | None = None,
        width: int = 1,
        poll_rate: float | None = None,
        stale_after: float | None = None,
    ) -> None:
        super().__init__(key, title=title, width=width, poll_rate=poll_rate, stale_after=stale_after)
        self.warn = optional_number(warn, "warn")
        self.critical = optional_number(critical, "critical")

    def next_state(self, previous: Any, value: Any, at: float | None = None) -> dict[str, Any]:
        return StatValue.coerce(value).as_state()

    def level(self, stat: StatValue) -> Level:
        number = stat.value if stat.value is not None else leading_number(stat.text)
        return threshold_level(number, self.warn, self.critical)

    def context(self, state: Any) -> dict[str, Any]:
        stat = StatValue.coerce(state)
        direction = ""
        if stat.change is not None:
            direction = "up" if stat.change > 0 else "down" if stat.change < 0 else "flat"
        level = self.level(stat)
        return {"stat": stat, "direction": direction, "level": level, "badge": BADGES.get(level, "")}
