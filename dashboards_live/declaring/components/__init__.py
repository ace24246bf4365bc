"""Dashboard components: a value in, an HTML fragment out.

Every event carries a component's whole rendered state, so a missed event heals
with the next one. `next_state()` turns a value into that state (plain JSON
data), `render()` turns the state into the fragment that travels in the event,
and `render_slot()` is the element on the page that swaps it in (`sse-swap` =
the key). A Chart's next state depends on its previous one, so its fragment
carries the state (`data-state`) and `state_from()` reads it back: a process
that did not draw the chart can still append to it.
"""

from __future__ import annotations

import html
import json
import math
import re
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, ClassVar, Literal, TypeGuard

from django.template.defaultfilters import floatformat
from django.template.loader import get_template, render_to_string
from django.utils import timezone
from django.utils.safestring import SafeString, mark_safe

from dashboards_live.contract import validate_event_name

Level = Literal["", "ok", "warn", "critical"]
BADGES: dict[str, str] = {"warn": "warning", "critical": "critical"}
MAX_WIDTH = 4
SERIES_COLOURS = 6  # .series-0 .. .series-5 in base.html; more series reuse them
MAX_SERIES_NAME = 40
DEFAULT_SERIES = "value"


class InvalidValue(ValueError):
    """A value a component cannot render (wrong shape or type)."""


def _is_number(value: object) -> TypeGuard[float]:
    # bool is an int to Python, never a measurement to a user
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def _optional_number(value: Any, what: str) -> float | None:
    """A declaration's optional finite number (ValueError: declarations are code, not input)."""
    if value is None:
        return None
    if not _is_number(value):
        raise ValueError(f"{what} must be a finite number or None, not {value!r}")
    return float(value)


def _number_text(value: float) -> str:
    # the same rounding as the templates' floatformat:"-2", so labels and text alternatives agree
    return f"{floatformat(value, -2)}"


def _attr_number(value: float) -> str:
    return str(int(value)) if value.is_integer() and abs(value) < 1e15 else repr(value)


def _seconds(seconds: float) -> str:
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


LEADING_NUMBER = re.compile(r"\s*([-+]?(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?)")


def leading_number(text: str) -> float | None:
    """The number a text starts with ("1,234 jobs" -> 1234.0), or None."""
    match = LEADING_NUMBER.match(text)
    return float(match.group(1).replace(",", "")) if match else None


class Component:
    """A piece of a dashboard. Its key is the SSE event name it swaps on."""

    template_name: ClassVar[str] = ""
    kind: ClassVar[str] = ""
    # value components announce each new value; a chart's text alternative would chatter
    announces: ClassVar[bool] = True
    # whether next_state needs the previous state (so a publisher elsewhere must read it back with state_from)
    builds_on_previous: ClassVar[bool] = False

    def __init__(
        self, key: str | None = None, *, title: str = "", width: int = 1, poll_rate: float | None = None
    ) -> None:
        # the key is the event name: the same rule, checked when the component is declared
        self.key: str = "" if key is None else validate_event_name(key)
        self._key_given = key is not None
        self.attribute: str | None = None
        self.dashboard: Any = None
        self.title = title
        if isinstance(width, bool) or not isinstance(width, int) or not 1 <= width <= MAX_WIDTH:
            raise ValueError(f"width is the number of grid columns spanned, 1 to {MAX_WIDTH}, not {width!r}")
        self.width = width
        if poll_rate is not None and (not _is_number(poll_rate) or poll_rate <= 0):
            raise ValueError(f"poll_rate is a positive number of seconds or None, not {poll_rate!r}")
        self.poll_rate = poll_rate
        self._template: Any = None

    def __set_name__(self, owner: type, name: str) -> None:
        self.attribute = name
        if not self._key_given:
            # not validated here: the Dashboard reports bad names as system check errors
            self.key = name

    @property
    def channel(self) -> str | None:
        channel = getattr(self.dashboard, "channel", None)
        return None if channel is None else str(channel)

    def next_state(self, previous: Any, value: Any, at: float | None = None) -> Any:
        """The state to render after `value` arrives (whole state, not a delta), as JSON data."""
        raise NotImplementedError

    def context(self, state: Any) -> dict[str, Any]:
        raise NotImplementedError

    def render(self, state: Any) -> str:
        # the loaded template is kept: a feed renders the same one thousands of times
        if self._template is None:
            self._template = get_template(self.template_name)
        html_text = self._template.render({"component": self, **self.context(state)})
        return "\n".join(line for line in html_text.strip().splitlines() if line.strip())

    def state_from(self, fragment: str | None) -> Any:
        """The state a fragment was rendered from; None for kinds whose events replace them whole."""
        return None

    def render_slot(self, fragment: str | None, *, poll_url: str | None = None) -> SafeString:
        """The page element that swaps in this component's events (and polls while the stream is down)."""
        if not self.key:
            raise ValueError(f"{self!r} has no key: give one, or declare it on a Dashboard")
        poll_every = _seconds(self.poll_rate) if self.poll_rate is not None and poll_url else ""
        return mark_safe(
            render_to_string(
                "dashboards_live/components/slot.html",
                {
                    "component": self,
                    # the fragment is ours: rendered by render() with autoescape, then stored
                    "fragment": mark_safe(fragment) if fragment else None,
                    "poll_url": poll_url,
                    "poll_every": poll_every,
                },
            )
        )

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.key!r})"


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
        if _is_number(value):
            return cls(text=str(value), value=float(value))
        if isinstance(value, str):
            return cls(text=value)
        if isinstance(value, dict):
            unknown = set(value) - {"text", "sub_text", "change", "value"}
            if unknown:
                raise InvalidValue(f"unknown Stat field(s): {', '.join(sorted(map(str, unknown)))}")
            number = value.get("value")
            if number is not None and not _is_number(number):
                raise InvalidValue('Stat "value" must be a finite number or null')
            if "text" not in value and number is None:
                raise InvalidValue('a Stat value needs "text" (or a "value")')
            text = value["text"] if "text" in value else _number_text(number) if number is not None else ""
            sub_text, change = value.get("sub_text", ""), value.get("change")
            if not isinstance(text, str) and not _is_number(text):
                raise InvalidValue('Stat "text" must be a string or a number')
            if not isinstance(sub_text, str):
                raise InvalidValue('Stat "sub_text" must be a string')
            if change is not None and not _is_number(change):
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
    ) -> None:
        super().__init__(key, title=title, width=width, poll_rate=poll_rate)
        self.warn = _optional_number(warn, "warn")
        self.critical = _optional_number(critical, "critical")

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


@dataclass(frozen=True)
class Plot:
    """A chart's window laid out in the SVG's coordinate space."""

    polyline: str
    minimum: float | None
    maximum: float | None
    latest: float | None
    count: int


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


def plot(points: Sequence[float], window: int) -> Plot:
    """One series without gaps, laid out in the box."""
    if not points:
        return Plot("", None, None, None, 0)
    lo, hi, count = min(points), max(points), len(points)
    vertices = " ".join(_vertex(i, p, count, window, lo, hi) for i, p in enumerate(points))
    return Plot(vertices, lo, hi, points[-1], count)


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


@dataclass(frozen=True)
class SeriesLatest:
    name: str
    colour: int
    value: float | None


Column = list[float | None]


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
    if not _is_number(value):
        raise InvalidValue(f"{what} must be finite numbers (or null for a gap), not {value!r}")
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
        window: int = 60,
        unit: str = "",
        series: Sequence[str] | None = None,
        width: int = 1,
        poll_rate: float | None = None,
    ) -> None:
        super().__init__(key, title=title, width=width, poll_rate=poll_rate)
        if isinstance(window, bool) or not isinstance(window, int) or window < 1:
            raise ValueError(f"a Chart window holds at least one point (an int), not {window!r}")
        self.window = window
        self.unit = unit
        self.series: tuple[str, ...] = _series_names(series)

    def next_state(self, previous: Any, value: Any, at: float | None = None) -> dict[str, Any]:
        """A number or {series: number} appends a point; a list or {series: [numbers]} replaces the windows."""
        try:
            times, columns = self._window_of(previous)
        except InvalidValue:
            # a previous state this chart cannot read (not a chart's): a fresh window beats failing every tick
            times, columns = [], {name: [] for name in self.series}
        if _is_number(value) or isinstance(value, list | tuple):
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
        if not _is_number(when):
            raise InvalidValue(f"a point's time is epoch seconds, not {at!r}")
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
        keep = self.window
        return {"t": times[-keep:], "s": {name: columns[name][-keep:] for name in self.series}}

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

    def state_from(self, fragment: str | None) -> dict[str, Any] | None:
        attributes = root_attributes(fragment)
        if attributes is None or "chart" not in attributes.get("class", "").split() or "data-state" not in attributes:
            return None
        try:
            times, columns = self._window_of(json.loads(html.unescape(attributes["data-state"])))
        except (ValueError, RecursionError):  # InvalidValue and JSONDecodeError are ValueErrors
            return None
        return {"t": times, "s": columns}

    def context(self, state: Any) -> dict[str, Any]:
        times, columns = self._window_of(state)
        count = len(times)
        known = [v for column in columns.values() for v in column if v is not None]
        lo, hi = (min(known), max(known)) if known else (None, None)
        lines: list[tuple[int, str]] = []
        if lo is not None and hi is not None:
            for i, column in enumerate(columns.values()):
                lines.extend((i % SERIES_COLOURS, points) for points in plot_runs(column, self.window, lo, hi))
        # a gap at the newest point does not hide the last value seen
        latest = [
            SeriesLatest(name, i % SERIES_COLOURS, next((v for v in reversed(column) if v is not None), None))
            for i, (name, column) in enumerate(columns.items())
        ]
        axis = time_axis(times, self.window)
        height = HEIGHT + AXIS_HEIGHT if axis else HEIGHT
        return {
            "state_json": json.dumps(
                {"t": times, "s": columns}, separators=(",", ":"), ensure_ascii=False, allow_nan=False
            ),
            "count": count,
            "minimum": lo,
            "maximum": hi,
            "lines": lines,
            "latest": latest,
            "several": len(self.series) > 1,
            "axis": axis,
            "axis_y": f"{HEIGHT + AXIS_HEIGHT - 4:.0f}",
            "label": self.text_alternative(lo, hi, latest, count),
            "width": int(WIDTH),
            "height": int(height),
            "plot_height": int(HEIGHT),
        }

    def text_alternative(self, lo: float | None, hi: float | None, latest: list[SeriesLatest], count: int) -> str:
        name, unit = self.title or "Chart", self.unit
        if lo is None or hi is None:
            return f"{name}: no data yet"

        def shown(value: float | None) -> str:
            return "no value" if value is None else f"{_number_text(value)}{unit}"

        if len(latest) == 1:
            now = f"latest {shown(latest[0].value)}"
        else:
            now = "latest " + ", ".join(f"{s.name} {shown(s.value)}" for s in latest)
        points = "point" if count == 1 else "points"
        return f"{name}: {now}; min {shown(lo)}, max {shown(hi)} over the last {count} {points}"


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


ROOT_TAG = re.compile(r"\s*<[A-Za-z][A-Za-z0-9-]*((?:\s[^>]*)?)>")
ATTRIBUTE = re.compile(r'\s([A-Za-z][A-Za-z0-9_:.-]*)="([^"]*)"')


def root_attributes(fragment: str | None) -> dict[str, str] | None:
    """The double-quoted attributes of a fragment's first tag (still HTML-escaped), or None.

    Autoescape turns every > and " inside an attribute value into an entity, so
    the tag ends at the first >.
    """
    if not isinstance(fragment, str):
        return None
    match = ROOT_TAG.match(fragment)
    if match is None:
        return None
    return dict(ATTRIBUTE.findall(match.group(1)))


Row = list[str | int | float | None]


def _cell(value: Any) -> str | int | float | None:
    if value is None or isinstance(value, str) or _is_number(value):
        return value
    raise InvalidValue(f"a Table cell is a string, a finite number or null, not {value!r}")


@dataclass(frozen=True)
class Cell:
    text: str
    numeric: bool


def _numbers_only(cells: Sequence[Cell]) -> bool:
    filled = [cell for cell in cells if cell.text]
    return bool(filled) and all(cell.numeric for cell in filled)


class Table(Component):
    """Rows under named columns, replaced whole by each value."""

    template_name = "dashboards_live/components/table.html"
    kind = "table"

    def __init__(
        self,
        key: str | None = None,
        *,
        columns: Sequence[str],
        title: str = "",
        max_rows: int = 10,
        width: int = 1,
        poll_rate: float | None = None,
    ) -> None:
        super().__init__(key, title=title, width=width, poll_rate=poll_rate)
        if isinstance(columns, str) or not isinstance(columns, Sequence) or not columns:
            raise ValueError("columns is a non-empty list of names, such as ['job', 'seconds']")
        if not all(isinstance(c, str) and c for c in columns) or len(set(columns)) != len(columns):
            raise ValueError(f"column names must be unique non-empty strings: {list(columns)!r}")
        if isinstance(max_rows, bool) or not isinstance(max_rows, int) or max_rows < 1:
            raise ValueError(f"max_rows is at least 1, not {max_rows!r}")
        self.columns: tuple[str, ...] = tuple(columns)
        self.max_rows = max_rows

    def row(self, value: Any) -> Row:
        if isinstance(value, dict):
            unknown = set(value) - set(self.columns)
            if unknown:
                raise InvalidValue(
                    f"unknown column(s) {', '.join(sorted(map(str, unknown)))}"
                    f" (the table has {', '.join(self.columns)})"
                )
            return [_cell(value.get(column)) for column in self.columns]
        if isinstance(value, list | tuple):
            if len(value) != len(self.columns):
                raise InvalidValue(f"a row has {len(self.columns)} cells (one per column), not {len(value)}")
            return [_cell(cell) for cell in value]
        raise InvalidValue("a Table row is a list of cells or an object keyed by column name")

    def next_state(self, previous: Any, value: Any, at: float | None = None) -> dict[str, Any]:
        """A list of rows; the first max_rows are kept and the rest counted."""
        if not isinstance(value, list | tuple):
            raise InvalidValue("a Table value is a list of rows")
        rows = [self.row(row) for row in value]
        return {"rows": rows[: self.max_rows], "more": max(len(rows) - self.max_rows, 0)}

    def context(self, state: Any) -> dict[str, Any]:
        if isinstance(state, dict):
            more = state.get("more", 0)
            if not isinstance(more, int) or isinstance(more, bool) or more < 0:
                raise InvalidValue('a Table state\'s "more" is a count of rows')
            shown = self.next_state(None, state.get("rows", []))
            more += shown["more"]
        else:
            shown = self.next_state(None, state)
            more = shown["more"]
        rows = [
            [Cell("" if c is None else str(c), not isinstance(c, str) and c is not None) for c in r]
            for r in shown["rows"]
        ]
        # a column of numbers is right-aligned, its heading with it
        headings = [Cell(column, _numbers_only([row[i] for row in rows])) for i, column in enumerate(self.columns)]
        return {"rows": rows, "more": more, "headings": headings}


class Text(Component):
    """A block of text; line breaks are kept."""

    template_name = "dashboards_live/components/text.html"
    kind = "text"

    def next_state(self, previous: Any, value: Any, at: float | None = None) -> str:
        if isinstance(value, str):
            return value
        if _is_number(value):
            return str(value)
        raise InvalidValue("a Text value is a string (or a number)")

    def context(self, state: Any) -> dict[str, Any]:
        return {"text": self.next_state(None, state)}


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
    ) -> None:
        super().__init__(key, title=title, width=width, poll_rate=poll_rate)
        lo, hi = _optional_number(min, "min"), _optional_number(max, "max")
        if lo is None or hi is None or not lo < hi:
            raise ValueError(f"a Gauge needs finite min < max, not min={min!r}, max={max!r}")
        self.min, self.max = lo, hi
        self.unit = unit
        self.warn = _optional_number(warn, "warn")
        self.critical = _optional_number(critical, "critical")

    def next_state(self, previous: Any, value: Any, at: float | None = None) -> dict[str, Any]:
        if _is_number(value):
            return {"value": float(value), "text": None}
        if isinstance(value, dict):
            unknown = set(value) - {"value", "text"}
            if unknown:
                raise InvalidValue(f"unknown Gauge field(s): {', '.join(sorted(map(str, unknown)))}")
            number, text = value.get("value"), value.get("text")
            if not _is_number(number):
                raise InvalidValue('a Gauge "value" is a finite number')
            if text is not None and not isinstance(text, str):
                raise InvalidValue('a Gauge "text" is a string')
            return {"value": float(number), "text": text}
        raise InvalidValue('a Gauge value is a finite number or an object with "value"')

    def meter(self, value: float) -> Meter:
        def clamp(x: float) -> str:
            return _attr_number(min_max(x, self.min, self.max))

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
            "number": f"{_number_text(value)}{self.unit}",
            "text": gauge["text"],
            "level": level,
            "badge": BADGES.get(level, ""),
        }


def min_max(value: float, lo: float, hi: float) -> float:
    return lo if value < lo else hi if value > hi else value


class SSEMixin:
    """Kept for imports: every Component renders its own slot now (`render_slot`)."""


# every component now renders its own slot; the names stay for existing declarations
SSEStat = Stat
SSEChart = Chart
