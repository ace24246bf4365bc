from __future__ import annotations

import pytest

from dashboards_live.declaring.components import Gauge, InvalidValue

HOSTILE = '"><script>alert(1)</script>'


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
