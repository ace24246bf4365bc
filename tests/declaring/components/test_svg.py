from __future__ import annotations

import pytest

from dashboards_live.declaring.components.svg import plot_runs


def test_plot_runs_put_the_newest_point_at_the_right_edge_and_scale_to_the_box() -> None:
    (run,) = plot_runs([0.0, 10.0], window=60, lo=0.0, hi=10.0)
    xs = [float(c.split(",")[0]) for c in run.split()]
    ys = [float(c.split(",")[1]) for c in run.split()]
    assert xs[-1] == pytest.approx(296.0)
    assert ys == [96.0, 4.0]  # low value at the bottom, high at the top
