from __future__ import annotations

import re

import pytest

from dashboards_live.components import Chart, InvalidValue, SSEChart, SSEStat, Stat, StatValue, plot


def test_stat_renders_text_sub_text_and_change() -> None:
    html = Stat("s", title="Load").render({"text": "42%", "sub_text": "ops", "change": -1.5})
    assert '<div class="stat-text">42%</div>' in html
    assert '<div class="stat-sub">ops</div>' in html
    assert 'class="stat-change stat-down">-1.50<' in html


def test_stat_without_change_has_no_change_element() -> None:
    assert "stat-change" not in Stat("s").render("7")


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
        ["a"],
        None,
    ],
)
def test_stat_refuses_bad_values(value: object) -> None:
    with pytest.raises(InvalidValue):
        StatValue.coerce(value)


def test_chart_keeps_a_rolling_window() -> None:
    chart = Chart("c", window=3)
    state = None
    for point in [1, 2, 3, 4, 5]:
        state = chart.next_state(state, point)
    assert state == [3.0, 4.0, 5.0]


def test_chart_list_value_replaces_the_window() -> None:
    assert Chart("c", window=2).next_state([1.0], [7, 8, 9]) == [8.0, 9.0]


def test_chart_default_window_is_sixty() -> None:
    assert Chart("c").window == 60


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
    html = Chart("c").render([])
    assert "polyline" not in html
    assert 'data-points="0"' in html


def test_chart_refuses_non_numbers() -> None:
    with pytest.raises(InvalidValue):
        Chart("c").next_state(None, "high")
    with pytest.raises(InvalidValue):
        Chart("c").next_state(None, [1, float("inf")])


def test_chart_title_and_unit_are_escaped() -> None:
    html = Chart("c", title="<b>x</b>", unit="<i>").render([1.0])
    assert "<b>" not in html and "<i>" not in html


def test_sse_slot_swaps_on_the_component_key() -> None:
    slot = SSEStat("sse_stat").render_slot("<div>1</div>")
    assert 'sse-swap="sse_stat"' in slot
    assert "<div>1</div>" in slot


def test_sse_slot_without_a_value_shows_a_placeholder() -> None:
    slot = SSEChart("sse_chart").render_slot(None)
    assert 'sse-swap="sse_chart"' in slot
    assert "placeholder" in slot


def test_component_key_must_be_an_event_name() -> None:
    with pytest.raises(ValueError):
        Stat("bad key")
