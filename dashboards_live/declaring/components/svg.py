"""A chart's geometry: points laid out in the SVG's box, and the time axis under it."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Literal

from django.utils import timezone

WIDTH, HEIGHT, PAD = 300.0, 100.0, 4.0
AXIS_HEIGHT = 16.0
# an HH:MM:SS label is about 45 units wide at the axis font size
AXIS_LABEL_GAP = 70.0


def _x(index: int, count: int, window: int) -> float:
    # right-aligned, so the newest point is always at the right edge
    step = (WIDTH - 2 * PAD) / max(window - 1, 1)
    return WIDTH - PAD - (count - 1 - index) * step


def _y(value: float, lo: float, hi: float) -> float:
    if hi == lo:
        return HEIGHT / 2  # a flat line in the middle, not lying on the floor
    # halved first: hi - lo overflows to inf for values near the float limits
    return HEIGHT - PAD - (value / 2 - lo / 2) / (hi / 2 - lo / 2) * (HEIGHT - 2 * PAD)


def _vertex(index: int, value: float, count: int, window: int, lo: float, hi: float) -> str:
    return f"{_x(index, count, window):.1f},{_y(value, lo, hi):.1f}"


def plot_runs(values: Sequence[float | None], window: int, lo: float, hi: float) -> list[str]:
    """One polyline's points per run of values between gaps, scaled to lo..hi (shared by all series)."""
    count = len(values)
    runs: list[list[str]] = []
    run: list[str] = []
    for i, value in enumerate(values):
        if value is None:
            if run:
                runs.append(run)
            run = []
        else:
            run.append(_vertex(i, value, count, window, lo, hi))
    if run:
        runs.append(run)
    # a lone point between gaps is a zero-length segment: drawn as a dot by the round line cap
    return [" ".join(r * 2 if len(r) == 1 else r) for r in runs]


def clock_time(epoch: float) -> str:
    """HH:MM:SS of an epoch time in Django's current time zone ("" when out of range)."""
    try:
        moment = datetime.fromtimestamp(epoch, tz=UTC)
    except (OverflowError, OSError, ValueError):
        return ""
    return timezone.localtime(moment).strftime("%H:%M:%S")


@dataclass(frozen=True)
class AxisLabel:
    x: str
    anchor: Literal["start", "middle", "end"]
    text: str


def time_axis(times: Sequence[float | None], window: int) -> list[AxisLabel]:
    """Up to three labels (newest, oldest, middle point with a time), never overlapping."""
    timed = [i for i, t in enumerate(times) if t is not None]
    if not timed:
        return []
    chosen: list[tuple[float, str]] = []
    for index in (timed[-1], timed[0], timed[len(timed) // 2]):
        x = _x(index, len(times), window)
        text = clock_time(times[index] or 0.0)
        if text and all(abs(x - other) >= AXIS_LABEL_GAP for other, _ in chosen):
            chosen.append((x, text))
    return [
        AxisLabel(
            f"{x:.1f}", "end" if x > WIDTH - AXIS_LABEL_GAP / 2 else "start" if x < AXIS_LABEL_GAP / 2 else "middle", t
        )
        for x, t in sorted(chosen)
    ]
