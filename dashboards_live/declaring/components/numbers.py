"""Numbers as the components show them, and the threshold level a number reaches."""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Literal

from django.template.defaultfilters import floatformat

Level = Literal["", "ok", "warn", "critical"]
BADGES: dict[str, str] = {"warn": "warning", "critical": "critical"}
LEADING_NUMBER = re.compile(r"\s*([-+]?(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?)")


def number_text(value: float) -> str:
    # the same rounding as the templates' floatformat:"-2", so labels and text alternatives agree
    return f"{floatformat(value, -2)}"


def attr_number(value: float) -> str:
    return str(int(value)) if value.is_integer() and abs(value) < 1e15 else repr(value)


def seconds_text(seconds: float) -> str:
    # positional, never "1e-05": htmx parses the interval with parseFloat after its own tokenizer
    text = format(Decimal(repr(float(seconds))), "f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return f"{text}s"


def threshold_level(number: float | None, warn: float | None, critical: float | None) -> Level:
    """ok / warn / critical for `number`; "" when there is nothing to compare.

    Higher is worse unless both thresholds are given with warn above critical
    (free disk space: running low is the danger).
    """
    if number is None or (warn is None and critical is None):
        return ""
    if warn is not None and critical is not None and warn > critical:
        return "critical" if number <= critical else "warn" if number <= warn else "ok"
    if critical is not None and number >= critical:
        return "critical"
    if warn is not None and number >= warn:
        return "warn"
    return "ok"


def leading_number(text: str) -> float | None:
    """The number a text starts with ("1,234 jobs" -> 1234.0), or None."""
    match = LEADING_NUMBER.match(text)
    return float(match.group(1).replace(",", "")) if match else None
