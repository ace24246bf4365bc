from __future__ import annotations

import json
import random
import re
from collections.abc import Sequence
from datetime import timedelta
from itertools import pairwise
from typing import Any

import pytest
from django.utils import timezone

from dashboards_live.declaring.components import Chart, InvalidValue, Stat
from dashboards_live.declaring.components.chart import MAX_TIME_WINDOW_POINTS
from dashboards_live.declaring.components.svg import RIGHT
from dashboards_live.publishing.encoding import browser_event_id, sse_frame

T0 = 1_700_000_000.0  # 2023-11-14 22:13:20 UTC
HOSTILE = '"><script>alert(1)</script>'


def runs_of(d: str) -> list[list[tuple[int, int]]]:
    """A path's subpaths as absolute points (the chart writes M x y, then relative l moves, or h0)."""
    runs = []
    for part in re.findall(r"M[^M]+", d):
        head, _, moves = part[1:].partition("l")
        x, y = (int(n) for n in re.findall(r"-?\d+", head.removesuffix("h0")))
        run = [(x, y)]
        numbers = [int(n) for n in re.findall(r"-?\d+", moves)]
        for dx, dy in zip(numbers[::2], numbers[1::2], strict=True):
            x, y = x + dx, y + dy
            run.append((x, y))
        runs.append(run)
    return runs


def lines_of(html: str) -> dict[int, list[list[tuple[int, int]]]]:
    return {int(n): runs_of(d) for n, d in re.findall(r'<g class="series-(\d)"><path d="([^"]+)"/>', html)}


def value_labels(html: str) -> list[str]:
    group = re.search(r'<g class="chart-y">(.*?)</g>', html)
    return re.findall(r">([^<]+)</text>", group.group(1)) if group else []


def axis_labels(html: str) -> list[str]:
    after = html.split("</g>")[-1]
    return re.findall(r"<text [^>]*>([^<]+)</text>", after)


def build(chart: Chart, values: Sequence[object], start: float = T0) -> Any:
    state = None
    for i, value in enumerate(values):
        state = chart.next_state(state, value, at=start + i)
    return state


# State


def test_chart_keeps_a_rolling_window() -> None:
    state = build(Chart("c", window=3), [1, 2, 3, 4, 5])
    assert state == {"t": [T0 + 2, T0 + 3, T0 + 4], "s": {"value": [3.0, 4.0, 5.0]}}


def test_chart_list_value_replaces_the_window_without_times() -> None:
    previous = {"t": [T0], "s": {"value": [1.0]}}
    state = Chart("c", window=2).next_state(previous, [7, 8, 9], at=T0)
    assert state == {"t": [None, None], "s": {"value": [8.0, 9.0]}}


def test_chart_default_window_is_sixty() -> None:
    assert Chart("c").window == 60


def test_chart_appends_one_point_per_series() -> None:
    chart = Chart("c", series=["done", "failed"])
    state = build(chart, [{"done": 3, "failed": 1}, {"done": 4, "failed": 0}])
    assert state == {"t": [T0, T0 + 1], "s": {"done": [3.0, 4.0], "failed": [1.0, 0.0]}}


def test_chart_missing_series_is_a_gap() -> None:
    state = build(Chart("c", series=["done", "failed"]), [{"done": 3}])
    assert state == {"t": [T0], "s": {"done": [3.0], "failed": [None]}}


def test_chart_unknown_series_is_refused() -> None:
    with pytest.raises(InvalidValue, match="unknown series"):
        Chart("c", series=["done"]).next_state(None, {"dne": 1}, at=T0)


def test_chart_number_on_several_series_asks_for_an_object() -> None:
    with pytest.raises(InvalidValue, match="give an object"):
        Chart("c", series=["done", "failed"]).next_state(None, 1, at=T0)


def test_chart_dict_of_lists_replaces_the_windows() -> None:
    chart = Chart("c", window=2, series=["a", "b"])
    state = chart.next_state(build(chart, [{"a": 1}]), {"a": [1, 2, 3], "b": [4, 5, 6]}, at=T0)
    assert state == {"t": [None, None], "s": {"a": [2.0, 3.0], "b": [5.0, 6.0]}}


def test_chart_dict_of_lists_of_different_lengths_is_refused() -> None:
    with pytest.raises(InvalidValue, match="different lengths"):
        Chart("c", series=["a", "b"]).next_state(None, {"a": [1], "b": [1, 2]}, at=T0)


def test_chart_refuses_non_numbers() -> None:
    with pytest.raises(InvalidValue):
        Chart("c").next_state(None, "high", at=T0)
    with pytest.raises(InvalidValue):
        Chart("c").next_state(None, [1, float("inf")], at=T0)
    with pytest.raises(InvalidValue):
        Chart("c").next_state(None, True, at=T0)


def test_chart_state_is_compact_json_data() -> None:
    state = build(Chart("c", series=["a", "b"]), [{"a": 1.5, "b": None}])
    assert json.loads(json.dumps(state)) == state


def test_chart_a_previous_state_of_other_series_starts_afresh() -> None:
    assert Chart("c").next_state({"t": [T0], "s": {"value": "junk"}}, 1, at=T0 + 1)["t"] == [T0 + 1]


@pytest.mark.parametrize("window", [0, -1, 2.5, True, "10", "10x", "", "0m", "-5s", "m", "1h30m", None])
def test_a_bad_window_is_refused_at_declaration(window: object) -> None:
    with pytest.raises(ValueError, match=r"a Chart window is a number of points .* or a time such as '30s'"):
        Chart("c", window=window)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("window", "seconds"),
    [("30s", 30), ("10m", 600), ("2h", 7200), ("1.5h", 5400), ("1d", 86400), (timedelta(minutes=5), 300)],
)
def test_a_window_in_time_is_parsed_once_at_declaration(window: str | timedelta, seconds: float) -> None:
    chart = Chart("c", window=window)
    assert (chart.window_points, chart.window_seconds) == (None, seconds)


def test_a_window_in_time_drops_points_older_than_the_window() -> None:
    chart = Chart("c", window="10s")
    state = build(chart, list(range(25)))
    assert state["t"] == [T0 + i for i in range(14, 25)]  # the newest is T0 + 24: T0 + 14 is 10 s older
    assert state["s"]["value"] == [float(i) for i in range(14, 25)]


def test_a_window_in_time_after_an_hour_without_data_starts_over() -> None:
    chart = Chart("c", window="1m")
    state = chart.next_state(build(chart, [1, 2, 3]), 4, at=T0 + 3600)
    assert state == {"t": [T0 + 3600], "s": {"value": [4.0]}}


def test_a_window_in_time_keeps_a_bounded_number_of_points() -> None:
    chart = Chart("c", window="1d")
    state: Any = None
    for i in range(MAX_TIME_WINDOW_POINTS + 5):
        state = chart.next_state(state, 1, at=T0 + i / 10)
    assert len(state["t"]) == MAX_TIME_WINDOW_POINTS and state["t"][-1] == T0 + (MAX_TIME_WINDOW_POINTS + 4) / 10


@pytest.mark.parametrize("series", [[], ["a", "a"], [""], ["x" * 41], "ab", [1]])
def test_chart_series_names_are_short_unique_strings(series: object) -> None:
    with pytest.raises(ValueError):
        Chart("c", series=series)  # type: ignore[arg-type]


# Rendering


def test_chart_draws_one_path_per_series_in_its_colour() -> None:
    chart = Chart("c", series=["a", "b"])
    html = chart.render(build(chart, [{"a": 1, "b": 2}] * 3))
    assert list(lines_of(html)) == [0, 1]


def test_chart_points_are_spaced_by_their_times() -> None:
    chart = Chart("c", window=4)
    state = None
    for when in (T0, T0 + 1, T0 + 3, T0 + 4):
        state = chart.next_state(state, 1, at=when)
    (run,) = lines_of(chart.render(state))[0]
    steps = [b[0] - a[0] for a, b in pairwise(run)]
    assert run[-1][0] == RIGHT
    # 1 s, 2 s, 1 s apart: the middle step is twice as long (to the rounding of integer coordinates)
    assert abs(steps[0] - steps[2]) <= 1 and abs(steps[1] - 2 * steps[0]) <= 2


def test_a_gap_in_the_data_is_a_gap_in_the_line() -> None:
    chart = Chart("c", window=20)
    times = [T0 + i for i in range(10)] + [T0 + 3600 + i for i in range(10)]
    state = None
    for i, when in enumerate(times):
        state = chart.next_state(state, i, at=when)
    old, new = lines_of(chart.render(state))[0]
    assert len(old) == len(new) == 10
    # the old points sit at their true times: ten seconds of the hour and ten the chart spans
    assert old[-1][0] - old[0][0] <= 1 and new[-1][0] - new[0][0] <= 1
    assert old[0][0] < 30 and new[-1][0] == RIGHT


def test_regular_points_with_jitter_are_one_line() -> None:
    chart = Chart("c")
    state = None
    for i in range(30):
        state = chart.next_state(state, i % 7, at=T0 + i + (0.4 if i % 3 else 0))
    assert len(lines_of(chart.render(state))[0]) == 1


def test_chart_splits_a_series_at_missing_values() -> None:
    chart = Chart("c", series=["a", "b"])
    lines = lines_of(chart.render(build(chart, [{"a": 1, "b": 1}, {"b": 2}, {"a": 3, "b": 3}])))
    assert (len(lines[0]), len(lines[1])) == (2, 1)


def test_chart_draws_a_lone_point_between_gaps_as_a_dot() -> None:
    chart = Chart("c", window=3, series=["a", "b"])
    html = chart.render(build(chart, [{"b": 1}, {"a": 2, "b": 1}, {"b": 1}]))
    assert re.search(r'<g class="series-0"><path d="M\d+ \d+h0"/>', html)


def test_a_replaced_window_without_times_is_evenly_spaced_without_a_time_axis() -> None:
    chart = Chart("c", window=3)
    html = chart.render(chart.next_state(None, [1, 2, 3]))
    (run,) = lines_of(html)[0]
    assert abs((run[2][0] - run[1][0]) - (run[1][0] - run[0][0])) <= 1 and run[2][0] == RIGHT
    assert axis_labels(html) == []


def test_chart_value_axis_has_a_few_labelled_round_gridlines() -> None:
    chart = Chart("c", window=3)
    html = chart.render(build(chart, [13, 47, 31]))
    assert value_labels(html) == ["10", "20", "30", "40", "50"]
    grid = re.search(r'<svg[^>]*><path d="([^"]+)"/>', html)
    assert grid is not None and grid.group(1).count("M") == 5


def test_chart_time_axis_shows_round_clock_times_in_the_current_time_zone() -> None:
    chart = Chart("c", window="10m")
    state = None
    for i in range(0, 601, 10):
        state = chart.next_state(state, i % 13, at=T0 + i)
    with timezone.override("Europe/Paris"):
        html = chart.render(state)
    assert axis_labels(html) == ["23:15", "23:20"]  # T0 is 23:13:20 there


def test_the_highest_and_lowest_points_can_be_read_with_a_pointer() -> None:
    chart = Chart("c", unit=" ms", series=["p50", "p99"])
    values = [{"p50": 30, "p99": 120}, {"p50": 25.5, "p99": 290.25}, {"p50": 31, "p99": 170}]
    with timezone.override("UTC"):
        html = chart.render(build(chart, values))
    titles = re.findall(r'<g class="series-(\d)">.*?</g>', html)
    assert titles == ["0", "1"]
    assert re.findall(r"<circle [^>]*><title>([^<]+)</title></circle>", html) == [
        "22:13:21 25.5 ms",
        "22:13:21 290.25 ms",
    ]


def test_chart_legend_names_several_series_with_their_latest_values() -> None:
    chart = Chart("c", unit="/min", series=["done", "failed"])
    html = chart.render(build(chart, [{"done": 12, "failed": 1}, {"done": 14}]))
    legend = (
        '<li class="series-0">done <b class="chart-latest">14/min</b></li>'
        '<li class="series-1">failed <b class="chart-latest">1/min</b></li>'
    )
    assert legend in html


def test_a_single_series_shows_its_latest_value() -> None:
    html = Chart("c").render(build(Chart("c"), [1, 2.5]))
    assert '<li>latest <b class="chart-latest">2.5</b></li>' in html


def test_chart_text_alternative_summarises_the_window() -> None:
    chart = Chart("c", title="Jobs per minute", unit="/min", series=["done", "failed"])
    html = chart.render(build(chart, [{"done": 15, "failed": 0}, {"done": 12, "failed": 1}]))
    expected = "Jobs per minute: latest done 12/min, failed 1/min; 0/min to 15/min over 2 points"
    assert f'role="img" aria-label="{expected}"' in html


def test_empty_chart_says_so_and_draws_nothing() -> None:
    html = Chart("c", title="Rate").render({"t": [], "s": {"value": []}})
    assert 'aria-label="Rate: no data yet"' in html
    assert "<path" not in html and '<b class="chart-latest">\N{EN DASH}</b>' in html


def test_a_60_point_two_series_event_is_at_most_1500_bytes_on_the_wire() -> None:
    chart = Chart("latency", title="Latency", unit=" ms", series=["p50", "p99"], width=2)
    rng = random.Random(19)
    values = []
    for _ in range(60):
        p50 = rng.gauss(40, 6)
        values.append({"p50": round(p50, 1), "p99": round(p50 * rng.uniform(2.5, 6), 1)})
    html = chart.render(build(chart, values))
    frame = sse_frame("latency", html, browser_event_id("demo", 123456))
    assert len(frame.encode()) <= 1500


def test_the_markup_is_compact() -> None:
    chart = Chart("c", series=["a", "b"])
    html = chart.render(build(chart, [{"a": 1.23456, "b": 2}] * 5))
    assert "style=" not in html and "fill=" not in html and "<script" not in html
    numbers = re.findall(r'(?:d|cx|cy|x|y)="([^"]+)"', html)
    assert numbers and not any("." in n for n in numbers)  # integer coordinates


def test_chart_escapes_title_unit_and_series_names() -> None:
    chart = Chart("c", title=HOSTILE, unit="<i>", series=[HOSTILE, "b"])
    html = chart.render(build(chart, [{HOSTILE: 1, "b": 2}]))
    assert "<script>" not in html and "<i>" not in html
    assert "&quot;&gt;&lt;script&gt;" in html


def test_chart_state_round_trips_through_what_is_stored_beside_the_fragment() -> None:
    chart = Chart("c", series=["a", "b"])
    state = build(chart, [{"a": 1.25, "b": None}, {"a": 2, "b": 3}])
    stored = chart.stored_state(state)
    assert stored is not None and chart.restore(stored) == state


def test_a_chart_renders_from_the_stored_state_alone() -> None:
    chart = Chart("c", window="1m", series=["a", "b"])
    state = build(chart, [{"a": i, "b": 2 * i} for i in range(10)])
    stored = chart.stored_state(state)
    assert stored is not None and "<" not in stored
    # another process, another declaration of the same chart: it appends to what was stored
    again = Chart("c", window="1m", series=["a", "b"])
    following = again.next_state(again.restore(stored), {"a": 10, "b": 20}, at=T0 + 10)
    assert following == build(chart, [{"a": i, "b": 2 * i} for i in range(11)])
    assert again.render(again.restore(stored)) == chart.render(state)


def test_chart_state_with_a_hostile_series_name_round_trips() -> None:
    chart = Chart("c", series=[HOSTILE])
    state = build(chart, [1])
    assert chart.restore(chart.stored_state(state) or "") == state


def test_the_fragment_carries_no_state() -> None:
    chart = Chart("c", series=["a"])
    html = chart.render(build(chart, [1, 2, 3]))
    assert "data-state" not in html and '"t"' not in html


@pytest.mark.parametrize("stored", ["", "junk", "{not json", '["a"]', '{"t": [1, 2], "s": {"value": [1]}}'])
def test_restoring_junk_is_none(stored: str) -> None:
    assert Chart("c").restore(stored) is None


def test_chart_builds_on_its_previous_state_and_others_do_not() -> None:
    assert Chart("c").builds_on_previous and not Stat("s").builds_on_previous


def test_point_titles_make_every_point_readable_by_pointer() -> None:
    chart = Chart("c", unit=" ms", series=["p50", "p99"], point_titles=True)
    with timezone.override("UTC"):
        html = chart.render(build(chart, [{"p50": 30, "p99": 120}, {"p99": 290.25}, {"p50": 31, "p99": 170}]))
    bands = re.findall(r'<rect x="(\d+)" y="4" width="(\d+)" height="92"><title>([^<]+)</title></rect>', html)
    assert [title for _, _, title in bands] == [
        "22:13:20 p50 30 ms, p99 120 ms",
        "22:13:21 p99 290.25 ms",
        "22:13:22 p50 31 ms, p99 170 ms",
    ]
    # side by side, covering the plot from the first point's band to the right edge
    edges = [(int(x), int(x) + int(width)) for x, width, _ in bands]
    assert all(a[1] == b[0] for a, b in pairwise(edges)) and edges[-1][1] == RIGHT


def test_point_titles_are_off_by_default() -> None:
    assert "<rect" not in Chart("c").render(build(Chart("c"), [1, 2, 3]))
