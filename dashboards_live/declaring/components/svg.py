"""A chart's geometry: a value axis with round steps, a time axis to scale, and compact paths.

Pure functions from numbers to the numbers and strings an SVG needs. Every
coordinate is an integer in a 300 x 100 box (plus the time axis under it): far
finer than a chart is drawn, and each digit travels to every viewer.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from itertools import pairwise
from statistics import median

from django.utils import timezone
from django.utils.formats import number_format

WIDTH, HEIGHT = 300, 100
TOP, BOTTOM, RIGHT = 4, 96, 296
AXIS_HEIGHT = 14
# the value axis' labels sit left of the plot: about 5 units per character at the axis font size
CHAR_WIDTH = 5
# consecutive points further apart than this many typical intervals are a gap in the data
GAP_FACTOR = 3
MOST_VALUE_TICKS = 5
MOST_TIME_TICKS = 3
TIME_STEPS = (1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 10800, 21600, 43200, 86400)


def short_number(value: float) -> str:
    """At most two decimals, and no trailing zeros (31.8, not 31.80), in the active locale."""
    places = 0 if round(value) == round(value, 2) else 1 if round(value, 1) == round(value, 2) else 2
    return str(number_format(round(value, places), places))


def nice_ticks(lo: float, hi: float, most: int = MOST_VALUE_TICKS) -> list[float]:
    """Round values (steps of 1, 2, 2.5 or 5 times a power of ten) from at or below lo to at or above hi."""
    try:
        return _nice_ticks(lo, hi, most)
    except (OverflowError, ZeroDivisionError):  # values near the float limits: no round steps fit, the range does
        return [min(lo, hi), max(lo, hi)]


def _nice_ticks(lo: float, hi: float, most: int) -> list[float]:
    if hi < lo:
        lo, hi = hi, lo
    if hi == lo:
        # one value: a band around it, so its line sits between two labelled gridlines
        pad = abs(lo) / 10 or 1.0
        lo, hi = lo - pad, hi + pad
    span = hi / 2 - lo / 2  # halved: hi - lo overflows to inf near the float limits
    if not (math.isfinite(span) and span > 0 and math.isfinite(lo) and math.isfinite(hi)):
        return [lo, hi]
    magnitude = 10.0 ** math.floor(math.log10(span) + math.log10(2 / (most - 1)))
    for multiple in (1, 2, 2.5, 5, 10, 20):
        step = multiple * magnitude
        first, last = math.floor(lo / step), math.ceil(hi / step)
        if last - first <= most - 1:
            break
    digits = max(0, -math.floor(math.log10(step)) + 1)
    ticks = [round(k * step, digits) for k in range(first, last + 1)]
    return ticks if len(ticks) >= 2 and math.isfinite(ticks[0]) and math.isfinite(ticks[-1]) else [lo, hi]


def value_y(value: float, lo: float, hi: float) -> int:
    """The y of `value` on a value axis from lo (bottom) to hi (top)."""
    # halved first: hi - lo overflows to inf for values near the float limits
    span = hi / 2 - lo / 2
    if not span:
        return (TOP + BOTTOM) // 2
    return round(BOTTOM - (value / 2 - lo / 2) / span * (BOTTOM - TOP))


def label_width(labels: Sequence[str]) -> int:
    """Where the plot starts: right of the widest value label."""
    return CHAR_WIDTH * max((len(text) for text in labels), default=0) + 6


def typical_interval(times: Sequence[float]) -> float:
    """The median time between consecutive points (0 with fewer than two)."""
    steps = [b - a for a, b in pairwise(times) if b > a]
    return median(steps) if steps else 0.0


def time_domain(times: Sequence[float], points: int | None, seconds: float | None) -> tuple[float, float]:
    """The times at the plot's left and right edges: the newest point at the right.

    A window in time spans exactly that time. A window in points spans its
    points, or, while it fills, as long as `points` points take at their
    typical interval, so a new chart grows from the right.
    """
    newest = times[-1]
    if seconds is not None:
        return newest - seconds, newest
    oldest = min(times[0], newest - typical_interval(times) * ((points or 1) - 1))
    return (oldest, newest) if oldest < newest else (newest - 1, newest)


def time_x(when: float, start: float, end: float, left: int) -> int:
    return round(left + (when - start) / (end - start) * (RIGHT - left))


def index_x(index: int, count: int, points: int, left: int) -> int:
    """x for points without times: evenly spaced, the newest at the right edge."""
    step = (RIGHT - left) / max(points - 1, 1)
    return round(RIGHT - (count - 1 - index) * step)


def breaks(times: Sequence[float]) -> set[int]:
    """Indexes of points that start a new run: further after their predecessor than GAP_FACTOR typical intervals."""
    limit = typical_interval(times) * GAP_FACTOR
    if limit <= 0:
        return set()
    return {i for i in range(1, len(times)) if times[i] - times[i - 1] > limit}


def path_data(runs: Sequence[Sequence[tuple[int, int]]]) -> str:
    """An SVG path: each run moves to its first point, then draws relative lines (`l5-3 5 2`)."""
    parts: list[str] = []
    for run in runs:
        if not run:
            continue
        x0, y0 = run[0]
        parts.append(f"M{x0} {y0}")
        steps: list[str] = []
        for x, y in run[1:]:
            dx, dy = x - x0, y - y0
            if dx or dy:  # a point on the same spot as the last adds nothing drawn
                # a minus sign separates numbers by itself
                steps.append(f"{dx}{dy}" if dy < 0 else f"{dx} {dy}")
                x0, y0 = x, y
        if not steps:
            parts.append("h0")  # a lone point: a zero-length line, drawn as a dot by the round line cap
            continue
        text = steps[0]
        for step in steps[1:]:
            text += step if step[0] == "-" else " " + step
        parts.append("l" + text)
    return "".join(parts)


def clock_time(epoch: float, seconds: bool = True) -> str:
    """HH:MM:SS (or HH:MM) of an epoch time in Django's current time zone ("" when out of range)."""
    try:
        moment = datetime.fromtimestamp(epoch, tz=UTC)
    except (OverflowError, OSError, ValueError):
        return ""
    return timezone.localtime(moment).strftime("%H:%M:%S" if seconds else "%H:%M")


@dataclass(frozen=True)
class TimeTick:
    x: int
    text: str
    # "" (the stylesheet's middle) unless the label would run out of the box
    anchor: str = ""


def time_ticks(start: float, end: float, left: int) -> list[TimeTick]:
    """Labels at round clock times (every 15 s, 5 min, 1 h...), at most MOST_TIME_TICKS, to scale."""
    span = end - start
    if not (math.isfinite(span) and span > 0):
        return []
    step = next((s for s in TIME_STEPS if span / s < MOST_TIME_TICKS), TIME_STEPS[-1])
    try:
        offset = timezone.localtime(datetime.fromtimestamp(end, tz=UTC)).utcoffset() or timedelta()
    except (OverflowError, OSError, ValueError):
        return []
    # round in local time: a tick every hour falls on the hour where the offset is half an hour too
    shift = offset.total_seconds()
    first = math.ceil((start + shift) / step)
    ticks = []
    for k in range(first, first + MOST_TIME_TICKS + 1):
        when = k * step - shift
        if when > end:
            break
        text = clock_time(when, seconds=step < 60)
        if text:
            x, half = time_x(when, start, end, left), CHAR_WIDTH * len(text) / 2
            anchor = "end" if x + half > WIDTH else "start" if x - half < 0 else ""
            ticks.append(TimeTick(x, text, anchor))
    return ticks
