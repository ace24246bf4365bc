from __future__ import annotations

import pytest

from dashboards_live.declaring.components import Chart, Component, Gauge, Stat, Table, Text

# Declaration


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


@pytest.mark.parametrize("stale_after", [0, -1, float("nan"), float("inf"), "5", True])
def test_stale_after_is_a_positive_number(stale_after: object) -> None:
    with pytest.raises(ValueError):
        Text("t", stale_after=stale_after)  # type: ignore[arg-type]


def test_every_kind_takes_stale_after() -> None:
    kinds = [Chart("c", stale_after=90), Gauge("g", stale_after=90), Stat("s", stale_after=90)]
    kinds += [Table("t", columns=["a"], stale_after=90), Text("x", stale_after=90)]
    assert [k.stale_after for k in kinds] == [90] * 5


def test_next_state_of_the_base_class_is_not_implemented() -> None:
    with pytest.raises(NotImplementedError):
        Component("c").next_state(None, 1)


# Slot


def test_slot_swaps_on_the_component_key() -> None:
    slot = Stat("queue").render_slot("<div>1</div>")
    assert 'id="queue" sse-swap="queue"' in slot
    assert "<div>1</div>" in slot


def test_slot_without_a_value_shows_a_placeholder() -> None:
    slot = Chart("jobs").render_slot(None)
    assert 'sse-swap="jobs"' in slot
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
    # live.js sends "live-poll" every poll_rate seconds while the stream is not live: the same under htmx 2 and 4
    slot = Stat("s", poll_rate=5).render_slot(None, poll_url="/f/s/")
    assert 'hx-get="/f/s/"' in slot
    assert 'hx-trigger="live-poll"' in slot and 'data-poll-every="5s"' in slot
    assert 'hx-swap="innerHTML"' in slot


def test_slot_formats_a_fractional_poll_rate_compactly() -> None:
    assert 'data-poll-every="0.5s"' in Stat("s", poll_rate=0.5).render_slot(None, poll_url="/f/")


def test_slot_does_not_poll_without_a_url() -> None:
    assert "hx-get" not in Stat("s", poll_rate=5).render_slot(None)


def test_slot_does_not_poll_without_a_poll_rate() -> None:
    assert "hx-get" not in Stat("s").render_slot(None, poll_url="/f/s/")


def test_slot_of_a_component_without_key_is_refused() -> None:
    with pytest.raises(ValueError):
        Stat().render_slot(None)


def test_value_components_store_no_state() -> None:
    stat = Stat("s")
    assert stat.stored_state(stat.next_state(None, "1")) is None
    assert stat.restore('{"text": "1"}') is None


@pytest.mark.parametrize("value", [10**400, -(10**400), float("inf"), float("nan"), True])
def test_what_no_finite_float_holds_is_not_a_number(value: object) -> None:
    from dashboards_live.declaring.components.base import is_number

    assert not is_number(value)


@pytest.mark.parametrize(
    ("component", "value"),
    [
        (Stat("s"), 10**400),
        (Stat("s"), {"text": "x", "value": 10**400}),
        (Gauge("g"), 10**400),
        (Chart("c"), 10**400),
        (Chart("c"), [1, 10**400]),
        (Table("t", columns=["a"]), [[10**400]]),
    ],
)
def test_huge_integers_are_invalid_values_with_a_short_message(component: Component, value: object) -> None:
    from dashboards_live.declaring.components import InvalidValue

    with pytest.raises(InvalidValue) as info:
        component.next_state(None, value, 1.0)
    assert len(str(info.value)) < 200


def test_slot_says_when_its_value_is_overdue_and_how_old_it_is() -> None:
    slot = Stat("s").render_slot("<div>1</div>", stale_after=1.5, age=0.25)
    assert 'data-stale-after="1.5" data-age="0.2"' in slot or 'data-stale-after="1.5" data-age="0.3"' in slot
    # no value yet: nothing is stale, so no age
    assert 'data-stale-after="90"' in Stat("s").render_slot(None, stale_after=90)
    assert "data-age" not in Stat("s").render_slot(None, stale_after=90)
    assert "data-stale" not in Stat("s").render_slot("<div>1</div>", age=3)
