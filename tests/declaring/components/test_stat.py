from __future__ import annotations

import json

import pytest

from dashboards_live.declaring.components import InvalidValue, Stat, StatValue


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


def test_stat_thresholds_must_be_numbers() -> None:
    with pytest.raises(ValueError):
        Stat("s", warn="high")  # type: ignore[arg-type]
