from __future__ import annotations

import json
import re
from collections.abc import Sequence

import pytest
from django.utils import timezone

from dashboards_live.declaring.components import (
    Chart,
    Component,
    Gauge,
    InvalidValue,
    SSEChart,
    SSEStat,
    Stat,
    StatValue,
    Table,
    Text,
    plot,
    threshold_level,
)

T0 = 1_700_000_000.0  # 2023-11-14 22:13:20 UTC
HOSTILE = '"><script>alert(1)</script>'


def points_of(html: str) -> list[tuple[str, str]]:
    return re.findall(r'<polyline class="chart-line series-(\d)" fill="none" points="([^"]+)"', html)


def build(chart: Chart, values: Sequence[object], start: float = T0) -> object:
    state = None
    for i, value in enumerate(values):
        state = chart.next_state(state, value, at=start + i)
    return state


# Component: declaration


def test_component_key_must_be_an_event_name() -> None:
    with pytest.raises(ValueError):
        Stat("bad key")


def test_set_name_uses_the_attribute_as_key_without_validating() -> None:
    class Board:
        bad_name_ = Stat()
        queue = Stat()

    assert Board.queue.key == "queue" and Board.queue.attribute == "queue"
    assert Board.bad_name_.key == "bad_name_"


def test_set_name_keeps_a_given_key() -> None:
    class Board:
        queue = Stat("jobs_waiting")

    assert Board.queue.key == "jobs_waiting" and Board.queue.attribute == "queue"


def test_a_component_without_key_is_empty_until_declared() -> None:
    stat = Stat()
    assert stat.key == "" and stat.attribute is None and stat.channel is None


def test_channel_comes_from_the_dashboard() -> None:
    stat = Stat("s")
    stat.dashboard = type("Ops", (), {"channel": "ops"})
    assert stat.channel == "ops"


@pytest.mark.parametrize("width", [0, 5, 1.5, True])
def test_width_is_one_to_four_columns(width: object) -> None:
    with pytest.raises(ValueError):
        Stat("s", width=width)  # type: ignore[arg-type]


@pytest.mark.parametrize("poll_rate", [0, -1, float("nan"), float("inf"), "5"])
def test_poll_rate_is_a_positive_number(poll_rate: object) -> None:
    with pytest.raises(ValueError):
        Stat("s", poll_rate=poll_rate)  # type: ignore[arg-type]


def test_next_state_of_the_base_class_is_not_implemented() -> None:
    with pytest.raises(NotImplementedError):
        Component("c").next_state(None, 1)


# Slot


def test_sse_slot_swaps_on_the_component_key() -> None:
    slot = SSEStat("sse_stat").render_slot("<div>1</div>")
    assert 'id="sse_stat" sse-swap="sse_stat"' in slot
    assert "<div>1</div>" in slot


def test_sse_slot_without_a_value_shows_a_placeholder() -> None:
    slot = SSEChart("sse_chart").render_slot(None)
    assert 'sse-swap="sse_chart"' in slot
    assert '<p class="placeholder">Waiting for the first value…</p>' in slot


def test_slot_has_kind_and_span_classes() -> None:
    slot = Gauge("g", width=3).render_slot(None)
    assert 'class="component component-gauge span-3"' in slot


@pytest.mark.parametrize("component", [Stat("s"), Text("t"), Gauge("g"), Table("b", columns=["a"])])
def test_value_slots_are_polite_live_regions(component: Component) -> None:
    assert 'role="status" aria-live="polite"' in component.render_slot(None)


def test_chart_slot_is_not_a_live_region() -> None:
    slot = Chart("c").render_slot(None)
    assert 'aria-live="off"' in slot and "role=" not in slot


def test_slot_polls_while_the_stream_is_not_live() -> None:
    slot = Stat("s", poll_rate=5).render_slot(None, poll_url="/f/s/")
    assert 'hx-get="/f/s/"' in slot
    assert "hx-trigger=\"every 5s [this.closest('[data-stream]').dataset.stream !== 'live']\"" in slot
    assert 'hx-swap="innerHTML"' in slot


def test_slot_formats_a_fractional_poll_rate_compactly() -> None:
    assert 'hx-trigger="every 0.5s ' in Stat("s", poll_rate=0.5).render_slot(None, poll_url="/f/")


def test_slot_does_not_poll_without_a_url() -> None:
    assert "hx-get" not in Stat("s", poll_rate=5).render_slot(None)


def test_slot_does_not_poll_without_a_poll_rate() -> None:
    assert "hx-get" not in Stat("s").render_slot(None, poll_url="/f/s/")


def test_slot_of_a_component_without_key_is_refused() -> None:
    with pytest.raises(ValueError):
        Stat().render_slot(None)


# Stat


def test_stat_renders_text_sub_text_and_change() -> None:
    html = Stat("s", title="Load").render({"text": "42%", "sub_text": "ops", "change": -1.5})
    assert '<div class="stat-text">42%</div>' in html
    assert '<div class="stat-sub">ops</div>' in html
    assert 'class="stat-change stat-down">-1.50<' in html


def test_stat_without_change_has_no_change_element() -> None:
    assert "stat-change" not in Stat("s").render("7")


def test_stat_state_is_json_data() -> None:
    state = Stat("s").next_state(None, {"text": "3 jobs", "change": 1})
    assert json.loads(json.dumps(state)) == {"text": "3 jobs", "sub_text": "", "change": 1.0, "value": None}


def test_stat_escapes_script_and_attribute_breakers() -> None:
    html = Stat("s", title='"><img src=x onerror=alert(1)>').render(
        {"text": "<script>alert(1)</script>", "sub_text": "' onmouseover='x"}
    )
    assert "<script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "<img" not in html
    assert "&#x27; onmouseover=&#x27;x" in html


@pytest.mark.parametrize(
    "value",
    [
        {"sub_text": "no text"},
        {"text": "x", "colour": "red"},
        {"text": True},
        {"text": "x", "change": "up"},
        {"text": "x", "change": float("nan")},
        {"text": "x", "value": "12"},
        ["a"],
        None,
    ],
)
def test_stat_refuses_bad_values(value: object) -> None:
    with pytest.raises(InvalidValue):
        StatValue.coerce(value)


def test_stat_without_thresholds_has_no_level() -> None:
    html = Stat("s").render("1,234 jobs")
    assert 'class="stat"' in html and "stat-badge" not in html


@pytest.mark.parametrize(("text", "level"), [("99 jobs", "ok"), ("100 jobs", "warn"), ("1,234 jobs", "critical")])
def test_stat_level_higher_is_worse(text: str, level: str) -> None:
    assert f"stat-level-{level}" in Stat("s", warn=100, critical=1000).render(text)


@pytest.mark.parametrize(("text", "level"), [("42.5%", "ok"), ("20%", "warn"), ("10%", "critical")])
def test_stat_level_lower_is_worse_when_warn_is_above_critical(text: str, level: str) -> None:
    assert f"stat-level-{level}" in Stat("s", warn=20, critical=10).render(text)


def test_stat_level_prefers_the_value_field_over_the_text() -> None:
    assert "stat-level-critical" in Stat("s", critical=10).render({"text": "many", "value": 12})


def test_stat_level_with_only_critical() -> None:
    assert "stat-level-ok" in Stat("s", critical=10).render("9")


def test_stat_text_without_a_number_has_no_level() -> None:
    assert "stat-level" not in Stat("s", warn=1).render("unknown")


def test_stat_warn_and_critical_show_a_text_badge() -> None:
    assert '<div class="stat-badge">warning</div>' in Stat("s", warn=1).render("5")
    assert '<div class="stat-badge">critical</div>' in Stat("s", critical=1).render("5")


def test_stat_value_alone_is_shown_as_text() -> None:
    assert '<div class="stat-text">12.50</div>' in Stat("s").render({"value": 12.5})


def test_threshold_level_is_empty_without_a_number() -> None:
    assert threshold_level(None, 1, 2) == ""


def test_stat_thresholds_must_be_numbers() -> None:
    with pytest.raises(ValueError):
        Stat("s", warn="high")  # type: ignore[arg-type]


# Chart: state


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


# Chart: rendering


def test_chart_svg_has_one_vertex_per_point_and_labels() -> None:
    html = Chart("c", title="Rate").render([3.0, 1.0, 2.0])
    match = re.search(r' points="([^"]+)"', html)
    assert match is not None
    assert len(match.group(1).split()) == 3
    assert '<dd class="chart-min">1</dd>' in html
    assert '<dd class="chart-max">3</dd>' in html
    assert '<dd class="chart-latest">2</dd>' in html
    assert "<svg" in html and 'data-points="3"' in html


def test_chart_plot_puts_newest_point_at_the_right_edge_and_scales_to_the_box() -> None:
    p = plot([0.0, 10.0], window=60)
    xs = [float(c.split(",")[0]) for c in p.polyline.split()]
    ys = [float(c.split(",")[1]) for c in p.polyline.split()]
    assert xs[-1] == pytest.approx(296.0)
    assert ys == [96.0, 4.0]  # low value at the bottom, high at the top


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


def test_chart_state_round_trips_through_its_fragment() -> None:
    chart = Chart("c", series=["a", "b"])
    state = build(chart, [{"a": 1.25, "b": None}, {"a": 2, "b": 3}])
    assert chart.state_from(chart.render(state)) == state


def test_chart_state_from_a_hostile_series_name_round_trips() -> None:
    chart = Chart("c", series=[HOSTILE])
    state = build(chart, [1])
    assert chart.state_from(chart.render(state)) == state


@pytest.mark.parametrize(
    "fragment",
    [
        None,
        "",
        "junk",
        '<figure class="chart" data-state="{not json">',
        '<figure class="chart" data-state="[&quot;a&quot;]">',
        '<figure class="chart">',
        '<div class="stat" data-state="{&quot;t&quot;:[],&quot;s&quot;:{}}">',
    ],
)
def test_chart_state_from_junk_is_none(fragment: str | None) -> None:
    assert Chart("c").state_from(fragment) is None


def test_value_components_have_no_state_to_recover() -> None:
    stat = Stat("s")
    assert stat.state_from(stat.render("1")) is None


def test_chart_builds_on_its_previous_state_and_others_do_not() -> None:
    assert Chart("c").builds_on_previous and not Stat("s").builds_on_previous


def test_a_120_point_two_series_chart_stays_well_under_16_kib() -> None:
    chart = Chart("c", title="Jobs per minute", unit="/min", window=120, series=["done", "failed"])
    values = [{"done": 1234.5678 + i / 7, "failed": 0.123456789 * i} for i in range(150)]
    html = chart.render(build(chart, values))
    assert len(html.encode()) < 12 * 1024


# Table


def test_table_renders_caption_headers_and_rows() -> None:
    html = Table("t", title="Slowest jobs", columns=["job", "seconds"]).render([["a", 1.5], ("b", 2)])
    assert "<caption>Slowest jobs</caption>" in html
    assert '<th scope="col">job</th>' in html
    assert '<tr><td>a</td><td class="num">1.5</td></tr>' in html


def test_table_right_aligns_the_heading_of_a_column_of_numbers() -> None:
    html = Table("t", columns=["job", "seconds"]).render([["a", 1.5], ["b", None]])
    assert '<th scope="col">job</th><th scope="col" class="num">seconds</th>' in html


def test_table_dict_rows_leave_missing_cells_empty() -> None:
    html = Table("t", columns=["job", "seconds"]).render([{"job": "a"}])
    assert "<tr><td>a</td><td></td></tr>" in html


def test_table_dict_rows_with_unknown_columns_are_refused() -> None:
    with pytest.raises(InvalidValue, match="unknown column"):
        Table("t", columns=["job"]).next_state(None, [{"jb": "a"}])


def test_table_rows_need_one_cell_per_column() -> None:
    with pytest.raises(InvalidValue):
        Table("t", columns=["job", "seconds"]).next_state(None, [["a"]])


@pytest.mark.parametrize("cell", [True, float("nan"), ["x"], {"a": 1}])
def test_table_cells_are_strings_numbers_or_null(cell: object) -> None:
    with pytest.raises(InvalidValue):
        Table("t", columns=["a"]).next_state(None, [[cell]])


def test_table_keeps_max_rows_and_counts_the_rest() -> None:
    table = Table("t", columns=["n"], max_rows=2)
    state = table.next_state(None, [[1], [2], [3], [4]])
    assert state == {"rows": [[1], [2]], "more": 2}
    assert '<p class="table-more">… and 2 more</p>' in table.render(state)


def test_empty_table_says_no_rows() -> None:
    assert "No rows" in Table("t", columns=["n"]).render([])


def test_table_escapes_title_columns_and_cells() -> None:
    html = Table("t", title=HOSTILE, columns=[HOSTILE]).render([[HOSTILE]])
    assert "<script>" not in html and html.count("&lt;script&gt;") == 3


@pytest.mark.parametrize("columns", [[], ["a", "a"], [""], "ab"])
def test_table_columns_are_unique_names(columns: object) -> None:
    with pytest.raises(ValueError):
        Table("t", columns=columns)  # type: ignore[arg-type]


def test_table_max_rows_is_at_least_one() -> None:
    with pytest.raises(ValueError):
        Table("t", columns=["a"], max_rows=0)


# Text


def test_text_keeps_line_breaks_after_escaping() -> None:
    html = Text("n", title="Notes").render("<b>one</b>\ntwo")
    assert '<div class="text-body">&lt;b&gt;one&lt;/b&gt;<br>two</div>' in html


def test_text_escapes_the_title() -> None:
    assert "<script>" not in Text("n", title=HOSTILE).render("x")


def test_text_turns_numbers_into_strings() -> None:
    assert Text("n").next_state(None, 42) == "42"


@pytest.mark.parametrize("value", [None, True, ["a"], {"text": "a"}])
def test_text_refuses_other_values(value: object) -> None:
    with pytest.raises(InvalidValue):
        Text("n").next_state(None, value)


# Gauge


def test_gauge_renders_a_meter_and_the_number_with_unit() -> None:
    html = Gauge("g", title="Disk used", unit="%").render(42)
    assert '<meter class="gauge-meter" min="0" max="100" value="42"' in html
    assert '<div class="gauge-value">42%</div>' in html and "gauge-level-ok" in html


def test_gauge_higher_is_worse_maps_to_low_high_optimum() -> None:
    html = Gauge("g", warn=80, critical=95).render(90)
    assert 'low="80" high="95" optimum="0"' in html and "gauge-level-warn" in html


def test_gauge_lower_is_worse_maps_to_low_high_optimum() -> None:
    html = Gauge("g", warn=20, critical=10).render(5)
    assert 'low="10" high="20" optimum="100"' in html and "gauge-level-critical" in html
    assert '<span class="gauge-badge">critical</span>' in html


def test_gauge_clamps_the_meter_but_shows_the_value_as_given() -> None:
    html = Gauge("g", unit="%").render(130)
    assert 'value="100"' in html and ">130%<" in html


def test_gauge_object_value_with_text() -> None:
    html = Gauge("g").render({"value": 3, "text": "of 4 disks"})
    assert '<div class="gauge-text">of 4 disks</div>' in html


def test_gauge_escapes_title_unit_and_text() -> None:
    html = Gauge("g", title=HOSTILE, unit=HOSTILE).render({"value": 1, "text": HOSTILE})
    assert "<script>" not in html and "&quot;&gt;&lt;script&gt;" in html


@pytest.mark.parametrize("value", [None, "5", True, float("nan"), {"text": "x"}, {"value": 1, "colour": "red"}])
def test_gauge_refuses_bad_values(value: object) -> None:
    with pytest.raises(InvalidValue):
        Gauge("g").next_state(None, value)


@pytest.mark.parametrize(("low", "high"), [(100, 0), (5, 5), (0, float("inf"))])
def test_gauge_needs_finite_min_below_max(low: float, high: float) -> None:
    with pytest.raises(ValueError):
        Gauge("g", min=low, max=high)
