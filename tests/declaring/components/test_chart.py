from __future__ import annotations

import json
import re
from collections.abc import Sequence

import pytest
from django.utils import timezone

from dashboards_live.declaring.components import Chart, InvalidValue, Stat

T0 = 1_700_000_000.0  # 2023-11-14 22:13:20 UTC
HOSTILE = '"><script>alert(1)</script>'


def points_of(html: str) -> list[tuple[str, str]]:
    return re.findall(r'<polyline class="chart-line series-(\d)" fill="none" points="([^"]+)"', html)


def build(chart: Chart, values: Sequence[object], start: float = T0) -> object:
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


@pytest.mark.parametrize("window", [0, -1, 2.5, True])
def test_chart_window_is_a_positive_int(window: object) -> None:
    with pytest.raises(ValueError):
        Chart("c", window=window)  # type: ignore[arg-type]


@pytest.mark.parametrize("series", [[], ["a", "a"], [""], ["x" * 41], "ab", [1]])
def test_chart_series_names_are_short_unique_strings(series: object) -> None:
    with pytest.raises(ValueError):
        Chart("c", series=series)  # type: ignore[arg-type]


# Rendering


def test_chart_svg_has_one_vertex_per_point_and_labels() -> None:
    html = Chart("c", title="Rate").render([3.0, 1.0, 2.0])
    match = re.search(r' points="([^"]+)"', html)
    assert match is not None
    assert len(match.group(1).split()) == 3
    assert '<dd class="chart-min">1</dd>' in html
    assert '<dd class="chart-max">3</dd>' in html
    assert '<dd class="chart-latest">2</dd>' in html
    assert "<svg" in html and 'data-points="3"' in html


def test_empty_chart_renders_placeholders_not_a_line() -> None:
    html = Chart("c").render({"t": [], "s": {"value": []}})
    assert "polyline" not in html
    assert 'data-points="0"' in html


def test_chart_draws_one_polyline_per_series() -> None:
    html = Chart("c", series=["a", "b"]).render(build(Chart("c", series=["a", "b"]), [{"a": 1, "b": 2}] * 3))
    assert [series for series, _ in points_of(html)] == ["0", "1"]


def test_chart_splits_a_series_at_gaps() -> None:
    chart = Chart("c", series=["a", "b"])
    html = chart.render(build(chart, [{"a": 1, "b": 1}, {"b": 2}, {"a": 3, "b": 3}]))
    assert [series for series, _ in points_of(html)] == ["0", "0", "1"]


def test_chart_draws_a_lone_point_between_gaps_as_a_dot() -> None:
    chart = Chart("c", window=3, series=["a", "b"])
    lines = points_of(chart.render(build(chart, [{"b": 1}, {"a": 2, "b": 1}, {"b": 1}])))
    assert ("0", "150.0,4.0 150.0,4.0") in lines


def test_chart_scales_all_series_to_one_range() -> None:
    chart = Chart("c", window=2, series=["a", "b"])
    lines = dict(points_of(chart.render(build(chart, [{"a": 0, "b": 10}, {"a": 0, "b": 10}]))))
    assert lines["0"] == "4.0,96.0 296.0,96.0" and lines["1"] == "4.0,4.0 296.0,4.0"


def test_chart_legend_names_several_series() -> None:
    chart = Chart("c", series=["done", "failed"])
    html = chart.render(build(chart, [{"done": 1}]))
    assert '<ul class="chart-legend">' in html and ">done</li>" in html and ">failed</li>" in html


def test_chart_single_series_has_no_legend() -> None:
    assert "chart-legend" not in Chart("c").render([1.0])


def test_chart_latest_per_series() -> None:
    chart = Chart("c", unit="/min", series=["done", "failed"])
    html = chart.render(build(chart, [{"done": 12, "failed": 1}]))
    assert '<dd class="chart-latest series-0">12/min</dd>' in html
    assert '<dd class="chart-latest series-1">1/min</dd>' in html


def test_chart_text_alternative_summarises_the_window() -> None:
    chart = Chart("c", title="Jobs per minute", unit="/min", series=["done", "failed"])
    html = chart.render(build(chart, [{"done": 15, "failed": 0}, {"done": 12, "failed": 1}]))
    expected = "Jobs per minute: latest done 12/min, failed 1/min; min 0/min, max 15/min over the last 2 points"
    assert f'role="img" aria-label="{expected}"' in html


def test_chart_time_axis_shows_oldest_middle_and_newest_in_the_current_time_zone() -> None:
    chart = Chart("c", window=3)
    with timezone.override("Europe/Paris"):
        html = chart.render(build(chart, [1, 2, 3], start=T0))
    labels = re.findall(r'<text class="chart-axis"[^>]*>([^<]+)</text>', html)
    assert labels == ["23:13:20", "23:13:21", "23:13:22"]


def test_chart_time_axis_labels_stay_inside_the_box() -> None:
    html = Chart("c", window=3).render(build(Chart("c", window=3), [1, 2, 3]))
    assert re.findall(r'text-anchor="(\w+)"', html) == ["start", "middle", "end"]


def test_chart_time_axis_labels_never_overlap() -> None:
    html = Chart("c").render(build(Chart("c"), [1, 2, 3]))  # three points close together at the right
    assert html.count('class="chart-axis"') == 1


def test_chart_time_axis_is_omitted_without_times() -> None:
    assert "chart-axis" not in Chart("c").render([1.0, 2.0])


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


def test_a_120_point_two_series_chart_stays_well_under_16_kib() -> None:
    chart = Chart("c", title="Jobs per minute", unit="/min", window=120, series=["done", "failed"])
    values = [{"done": 1234.5678 + i / 7, "failed": 0.123456789 * i} for i in range(150)]
    html = chart.render(build(chart, values))
    assert len(html.encode()) < 12 * 1024
