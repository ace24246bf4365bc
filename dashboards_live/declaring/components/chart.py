"""Chart: the one kind whose next state builds on its previous one.

So its state (the window's times and points) is stored beside its fragment
(`stored_state()`, `restore()`): a process that did not draw the chart can
still append to it, and browsers receive only what they show: lines to scale
in time, a value axis, and the values a pointer can read.
"""

from __future__ import annotations

import json
import math
import re
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from dashboards_live.declaring.components.base import Component, InvalidValue, is_number, shown
from dashboards_live.declaring.components.svg import (
    AXIS_HEIGHT,
    HEIGHT,
    RIGHT,
    TimeTick,
    breaks,
    clock_time,
    index_x,
    label_width,
    nice_ticks,
    path_data,
    short_number,
    time_domain,
    time_ticks,
    time_x,
    value_y,
)

SERIES_COLOURS = 6  # .series-0 .. .series-5 in base.html; more series reuse them
MAX_SERIES_NAME = 40
DEFAULT_SERIES = "value"
NO_VALUE = "\N{EN DASH}"
# a window in time keeps at most this many points, whatever the rate of its feed
MAX_TIME_WINDOW_POINTS = 600
TIME_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
TIME_WINDOW = re.compile(r"\s*(\d+(?:\.\d+)?)\s*([smhd])\s*")


def parse_window(window: object) -> tuple[int | None, float | None]:
    """(points, seconds) of a declared window: an int of points, or a time such as "30s", "10m", "2h", "1d"."""
    if isinstance(window, int) and not isinstance(window, bool):
        if window >= 1:
            return window, None
    elif isinstance(window, timedelta):
        if window.total_seconds() > 0:
            return None, window.total_seconds()
    elif isinstance(window, str):
        match = TIME_WINDOW.fullmatch(window)
        if match and float(match.group(1)) > 0:
            return None, float(match.group(1)) * TIME_UNITS[match.group(2)]
    raise ValueError(
        f"a Chart window is a number of points (an int, at least 1) or a time such as '30s', '10m', '2h', "
        f"not {window!r}"
    )


@dataclass(frozen=True)
class SeriesLatest:
    name: str
    colour: int
    value: float | None


Column = list[float | None]


@dataclass(frozen=True)
class Mark:
    """A point a pointer can read: a dot with a title."""

    x: int
    y: int
    title: str


@dataclass(frozen=True)
class HitBand:
    """A strip of the plot a pointer reads one point in time from (`point_titles=True`)."""

    x: int
    width: int
    title: str


def extremes(columns: Sequence[Sequence[float | None]]) -> set[tuple[int, int]]:
    """(series, index) of the chart's highest point and its lowest (the newest of equals)."""
    known = [(v, i, s) for s, column in enumerate(columns) for i, v in enumerate(column) if v is not None]
    if not known:
        return set()
    newest_first = sorted(known, key=lambda vis: -vis[1])
    high = max(newest_first, key=lambda vis: vis[0])
    low = min(newest_first, key=lambda vis: vis[0])
    return {(high[2], high[1]), (low[2], low[1])}


def kept(value: float | None) -> float | None:
    """A chart value as stored: what its labels show (two decimals), and six significant digits for small ones.

    The points are far finer than a 100-unit-high plot can show; full float
    precision would double the size of every chart event.
    """
    if value is None:
        return None
    return round(value, 2) if abs(value) >= 1e4 else float(f"{value:.6g}")


def _gap_or_number(value: Any, what: str) -> float | None:
    if value is None:
        return None
    if not is_number(value):
        raise InvalidValue(f"{what} must be finite numbers (or null for a gap), not {shown(value)}")
    return float(value)


def _column(values: Any, what: str) -> Column:
    if not isinstance(values, list | tuple):
        raise InvalidValue(f"{what} must be a list of numbers")
    return [kept(_gap_or_number(v, what)) for v in values]


def _state_column(values: Any, what: str) -> Column:
    """A column of a stored state: checked, but not rounded again (it was rounded when the point came)."""
    if not isinstance(values, list | tuple):
        raise InvalidValue(f"{what} must be a list of numbers")
    # a chart renders its window on every event: the common case (floats and gaps) costs one pass
    if all(v is None or (type(v) is float and math.isfinite(v)) for v in values):
        return list(values)
    return [_gap_or_number(v, what) for v in values]


class Chart(Component):
    """A rolling window of points per series, drawn on the server as inline SVG."""

    template_name = "dashboards_live/components/chart.html"
    kind = "chart"
    announces = False
    builds_on_previous = True

    def __init__(
        self,
        key: str | None = None,
        *,
        title: str = "",
        window: int | str | timedelta = 60,
        unit: str = "",
        series: Sequence[str] | None = None,
        width: int = 1,
        poll_rate: float | None = None,
        stale_after: float | None = None,
        point_titles: bool = False,
    ) -> None:
        super().__init__(key, title=title, width=width, poll_rate=poll_rate, stale_after=stale_after)
        self.window = window
        # every point readable by pointer: about 40 bytes a point more in every event, so only when asked
        self.point_titles = point_titles
        # parsed once, here: a bad window is an error in the declaration, not at the first value
        self.window_points, self.window_seconds = parse_window(window)
        self.unit = unit
        self.series: tuple[str, ...] = _series_names(series)

    def next_state(self, previous: Any, value: Any, at: float | None = None) -> dict[str, Any]:
        """A number or {series: number} appends a point; a list or {series: [numbers]} replaces the windows."""
        try:
            times, columns = self._window_of(previous)
        except InvalidValue:
            # a previous state this chart cannot read (not a chart's): a fresh window beats failing every tick
            times, columns = [], {name: [] for name in self.series}
        if is_number(value) or isinstance(value, list | tuple):
            if len(self.series) > 1:
                example = json.dumps({name: 1 for name in self.series[:2]})
                raise InvalidValue(f"this chart has several series: give an object such as {example}")
            value = {self.series[0]: value}
        if not isinstance(value, dict):
            raise InvalidValue("a Chart value is a number, a list of numbers, or an object keyed by series name")
        unknown = set(value) - set(self.series)
        if unknown:
            raise InvalidValue(
                f"unknown series {', '.join(sorted(map(str, unknown)))} (this chart has {', '.join(self.series)})"
            )
        lists = [isinstance(v, list | tuple) for v in value.values()]
        if value and all(lists):
            return self._replaced(value)
        if any(lists):
            raise InvalidValue("give one number per series (a point) or one list per series (the windows), not both")
        return self._appended(times, columns, value, at)

    def _appended(
        self, times: Column, columns: dict[str, Column], value: Mapping[str, Any], at: float | None
    ) -> dict[str, Any]:
        when = time.time() if at is None else at
        if not is_number(when):
            raise InvalidValue(f"a point's time is epoch seconds, not {shown(at)}")
        point = {name: kept(_gap_or_number(value.get(name), "Chart points")) for name in self.series}
        times = [*times, round(float(when), 3)]
        columns = {name: [*columns[name], point[name]] for name in self.series}
        return self._state(times, columns)

    def _replaced(self, value: Mapping[str, Any]) -> dict[str, Any]:
        given = {name: _column(points, "Chart points") for name, points in value.items()}
        lengths = {len(points) for points in given.values()}
        if len(lengths) > 1:
            raise InvalidValue(f"the series' lists have different lengths ({', '.join(map(str, sorted(lengths)))})")
        (length,) = lengths
        columns = {name: given.get(name, [None] * length) for name in self.series}
        # replaced windows say nothing about when their points were taken
        return self._state([None] * length, columns)

    def _state(self, times: Column, columns: dict[str, Column]) -> dict[str, Any]:
        if self.window_points is not None:
            start = max(0, len(times) - self.window_points)
        else:
            start = max(0, len(times) - MAX_TIME_WINDOW_POINTS)
            newest = times[-1] if times else None
            if newest is not None:
                # a window in time keeps the points of its last `window` seconds: none without a time
                cutoff = newest - (self.window_seconds or 0.0)
                for i in range(len(times) - 1, start - 1, -1):
                    when = times[i]
                    if when is None or when < cutoff:
                        start = i + 1
                        break
        return {"t": times[start:], "s": {name: columns[name][start:] for name in self.series}}

    def _window_of(self, state: Any) -> tuple[Column, dict[str, Column]]:
        """`state` as this chart's times and columns (its series, equal lengths, at most a window)."""
        if state is None:
            times: Column = []
            columns: dict[str, Column] = {name: [] for name in self.series}
        elif isinstance(state, list | tuple):
            # the plain list of points charts had before series
            if len(self.series) != 1:
                raise InvalidValue("a plain list of points is a single-series chart's state")
            points = _column(state, "Chart points")
            times, columns = [None] * len(points), {self.series[0]: points}
        elif isinstance(state, dict) and isinstance(state.get("t"), list) and isinstance(state.get("s"), dict):
            times = _state_column(state["t"], "a chart state's times")
            columns = {}
            for name in self.series:
                column = state["s"].get(name)
                columns[name] = (
                    [None] * len(times) if column is None else _state_column(column, "a chart state's points")
                )
                if len(columns[name]) != len(times):
                    raise InvalidValue("a chart state's lists have different lengths")
        else:
            raise InvalidValue('a Chart state is {"t": [times], "s": {series: [points]}}')
        state = self._state(times, columns)
        return state["t"], state["s"]

    def restore(self, stored: str) -> dict[str, Any] | None:
        try:
            times, columns = self._window_of(json.loads(stored))
        except (ValueError, RecursionError):  # InvalidValue and JSONDecodeError are ValueErrors
            return None
        return {"t": times, "s": columns}

    def context(self, state: Any) -> dict[str, Any]:
        times, columns = self._window_of(state)
        count = len(times)
        known = [v for column in columns.values() for v in column if v is not None]
        lo, hi = (min(known), max(known)) if known else (None, None)
        # a gap at the newest point does not hide the last value seen
        latest = [
            SeriesLatest(name, i % SERIES_COLOURS, next((v for v in reversed(column) if v is not None), None))
            for i, (name, column) in enumerate(columns.items())
        ]
        context: dict[str, Any] = {
            "latest": [(s, self.value_text(s.value)) for s in latest],
            "several": len(self.series) > 1,
            "label": self.text_alternative(lo, hi, latest, count),
            "height": HEIGHT,
            "grid": [],
            "lines": [],
            "axis": [],
        }
        if lo is None or hi is None:
            return context
        ticks = nice_ticks(lo, hi)
        bottom, top = ticks[0], ticks[-1]
        labels = [short_number(tick) for tick in ticks]
        left = label_width(labels)
        axis: list[TimeTick] = []
        cut: set[int] = set()
        if all(t is not None for t in times):
            timed = [float(t) for t in times if t is not None]
            start, end = time_domain(timed, self.window_points, self.window_seconds)
            xs = [time_x(t, start, end, left) for t in timed]
            cut = breaks(timed)
            axis = time_ticks(start, end, left)
        else:
            # a replaced window says nothing of when its points were taken: evenly spaced
            xs = [index_x(i, count, self.window_points or count, left) for i in range(count)]
        lines = []
        marked = extremes(list(columns.values()))
        for i, column in enumerate(columns.values()):
            runs: list[list[tuple[int, int]]] = [[]]
            for j, value in enumerate(column):
                if value is None or j in cut:
                    runs.append([])
                if value is not None:
                    runs[-1].append((xs[j], value_y(value, bottom, top)))
            if any(runs):
                marks = [
                    Mark(xs[j], value_y(v, bottom, top), self.mark_title(times[j], v))
                    for j, v in enumerate(column)
                    if v is not None and (i, j) in marked
                ]
                lines.append((i % SERIES_COLOURS, path_data(runs), marks))
        context.update(
            grid=[(value_y(tick, bottom, top), text) for tick, text in zip(ticks, labels, strict=True)],
            grid_path="".join(f"M{left} {value_y(tick, bottom, top)}H{RIGHT}" for tick in ticks),
            label_x=left - 3,
            lines=lines,
            hits=self.hit_bands(times, columns, xs, left) if self.point_titles else [],
            axis=axis,
            axis_y=HEIGHT + AXIS_HEIGHT - 3,
            height=HEIGHT + AXIS_HEIGHT if axis else HEIGHT,
        )
        return context

    def hit_bands(self, times: Column, columns: dict[str, Column], xs: list[int], left: int) -> list[HitBand]:
        """A band across the plot for each point in time, from halfway to its neighbours, titled with its values."""
        bands = []
        for j, x in enumerate(xs):
            values = [(name, column[j]) for name, column in columns.items() if column[j] is not None]
            if not values:
                continue
            start = left if j == 0 else (xs[j - 1] + x + 1) // 2
            end = RIGHT if j == len(xs) - 1 else (x + xs[j + 1] + 1) // 2
            if len(self.series) == 1:
                text = self.value_text(values[0][1])
            else:
                text = ", ".join(f"{name} {self.value_text(v)}" for name, v in values)
            moment = times[j]
            title = text if moment is None else f"{clock_time(moment)} {text}"
            bands.append(HitBand(start, max(end - start, 1), title))
        return bands

    def mark_title(self, when: float | None, value: float) -> str:
        moment = "" if when is None else clock_time(when)
        return f"{moment} {self.value_text(value)}".lstrip()

    def value_text(self, value: float | None) -> str:
        return NO_VALUE if value is None else f"{short_number(value)}{self.unit}"

    def text_alternative(self, lo: float | None, hi: float | None, latest: list[SeriesLatest], count: int) -> str:
        name = self.title or "Chart"
        if lo is None or hi is None:
            return f"{name}: no data yet"

        def shown(value: float | None) -> str:
            return "no value" if value is None else self.value_text(value)

        if len(latest) == 1:
            now = f"latest {shown(latest[0].value)}"
        else:
            now = "latest " + ", ".join(f"{s.name} {shown(s.value)}" for s in latest)
        points = "point" if count == 1 else "points"
        return f"{name}: {now}; {shown(lo)} to {shown(hi)} over {count} {points}"


def _series_names(series: Sequence[str] | None) -> tuple[str, ...]:
    if series is None:
        return (DEFAULT_SERIES,)
    if isinstance(series, str) or not isinstance(series, Sequence):
        raise ValueError("series is a list of names, such as ['done', 'failed']")
    names = tuple(series)
    if not names:
        raise ValueError("a Chart needs at least one series")
    for name in names:
        if not isinstance(name, str) or not name.strip() or len(name) > MAX_SERIES_NAME:
            raise ValueError(f"a series name is a non-empty string of at most {MAX_SERIES_NAME} characters: {name!r}")
    if len(set(names)) != len(names):
        raise ValueError(f"series names must be unique: {names!r}")
    return names
