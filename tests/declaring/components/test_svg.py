from __future__ import annotations

import math
from itertools import pairwise

import pytest
from django.utils import timezone
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from dashboards_live.declaring.components.svg import (
    BOTTOM,
    RIGHT,
    TOP,
    breaks,
    nice_ticks,
    path_data,
    short_number,
    time_domain,
    time_ticks,
    time_x,
    value_y,
)

T0 = 1_700_000_000.0  # 2023-11-14 22:13:20 UTC


# The value axis


@pytest.mark.parametrize(
    ("lo", "hi", "ticks"),
    [
        (0.0, 10.0, [0, 2.5, 5, 7.5, 10]),
        (25.2, 291.2, [0, 100, 200, 300]),
        (0.013, 0.047, [0.01, 0.02, 0.03, 0.04, 0.05]),
        (-3.0, 4.0, [-4, -2, 0, 2, 4]),
        (7.0, 7.0, [6, 6.5, 7, 7.5, 8]),  # one value: a band around it
        (0.0, 0.0, [-1, -0.5, 0, 0.5, 1]),
    ],
)
def test_nice_ticks_are_round_steps_around_the_values(lo: float, hi: float, ticks: list[float]) -> None:
    assert nice_ticks(lo, hi) == ticks


@settings(max_examples=150, deadline=None)
@given(
    lo=st.floats(min_value=-1e12, max_value=1e12, allow_nan=False),
    span=st.floats(min_value=0, max_value=1e12, allow_nan=False),
)
def test_nice_ticks_cover_the_values_in_a_few_equal_round_steps(lo: float, span: float) -> None:
    # chart values keep six significant digits: no window spans less than a millionth of its values
    assume(span == 0 or span > max(abs(lo) * 1e-6, 1e-300))
    hi = lo + span
    ticks = nice_ticks(lo, hi)
    assert 2 <= len(ticks) <= 5
    steps = [b - a for a, b in pairwise(ticks)]
    step = max(steps)
    assert ticks[0] <= lo + step * 1e-9 and ticks[-1] >= hi - step * 1e-9
    assert all(math.isclose(s, step, rel_tol=1e-3) for s in steps)
    mantissa = step / 10 ** math.floor(math.log10(step))
    assert any(math.isclose(mantissa, m, rel_tol=1e-6) for m in (1, 2, 2.5, 5))


def test_values_near_the_float_limits_still_get_an_axis() -> None:
    ticks = nice_ticks(-1.7e308, 1.7e308)
    assert len(ticks) >= 2 and all(math.isfinite(t) for t in ticks)
    assert value_y(1.7e308, ticks[0], ticks[-1]) >= TOP


def test_value_y_puts_low_values_at_the_bottom() -> None:
    assert (value_y(0, 0, 10), value_y(10, 0, 10), value_y(5, 0, 10)) == (BOTTOM, TOP, 50)


def test_short_numbers_have_no_trailing_zeros() -> None:
    assert [short_number(v) for v in (31.8, 31.80001, 2.0, 0.126, 1234.5678)] == [
        "31.8",
        "31.8",
        "2",
        "0.13",
        "1234.57",
    ]


# The time axis


def test_time_x_is_to_scale() -> None:
    xs = [time_x(T0 + s, T0, T0 + 100, 20) for s in (0, 10, 50, 100)]
    assert xs == [20, 48, 158, RIGHT]


def test_a_window_in_points_grows_from_the_right_while_it_fills() -> None:
    start, end = time_domain([T0, T0 + 1, T0 + 2], points=60, seconds=None)
    assert (start, end) == (T0 + 2 - 59, T0 + 2)


def test_a_window_in_points_spans_old_points_at_their_true_times() -> None:
    times = [T0 + i for i in range(30)] + [T0 + 3600 + i for i in range(30)]
    assert time_domain(times, points=60, seconds=None) == (T0, T0 + 3629)


def test_a_window_in_time_spans_exactly_that_time() -> None:
    assert time_domain([T0 + 500, T0 + 600], points=None, seconds=600) == (T0, T0 + 600)


def test_breaks_start_a_new_run_after_a_gap_of_more_than_three_typical_intervals() -> None:
    times = [T0, T0 + 1, T0 + 2, T0 + 3.5, T0 + 4.5, T0 + 8, T0 + 9]
    assert breaks(times) == {5}  # 3.5 s after its predecessor; 1.5 s is jitter
    assert breaks([T0, T0 + 1]) == set() and breaks([T0]) == set()


def test_time_ticks_fall_on_round_clock_times_in_the_current_time_zone() -> None:
    with timezone.override("Asia/Kolkata"):  # UTC+05:30: minutes round in local time too
        ticks = time_ticks(T0, T0 + 600, 20)
    assert [t.text for t in ticks] == ["03:45", "03:50"]  # T0 is 03:43:20 there
    assert [t.x for t in ticks] == [time_x(T0 + s, T0, T0 + 600, 20) for s in (100, 400)]


def test_time_ticks_keep_seconds_under_a_minute_apart_and_stay_inside_the_box() -> None:
    ticks = time_ticks(T0 - 59, T0 + 1, 20)
    assert [t.text for t in ticks] == ["22:12:30", "22:13:00"]
    assert time_ticks(T0 - 0.5, T0, 20)[-1].anchor in {"", "end"}
    assert time_ticks(T0, T0, 20) == []


# Paths


def test_paths_are_relative_integer_moves() -> None:
    assert path_data([[(4, 88), (9, 85), (14, 90), (19, 70)]]) == "M4 88l5-3 5 5 5-20"


def test_each_run_is_a_subpath_and_a_lone_point_is_a_dot() -> None:
    assert path_data([[(4, 88), (9, 88)], [], [(50, 10)]]) == "M4 88l5 0M50 10h0"


def test_points_on_the_same_spot_are_drawn_once() -> None:
    assert path_data([[(4, 88), (4, 88), (5, 88)]]) == "M4 88l1 0"
