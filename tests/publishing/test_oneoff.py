from __future__ import annotations

import io
import json

import pytest
from django.test import override_settings

from dashboards_live.contract import InvalidEvent
from dashboards_live.declaring.components import Chart, Stat
from dashboards_live.declaring.demo import CHART, STAT
from dashboards_live.publishing.oneoff import INPUT_FACTOR, compact_json, prepare, read_limited


def rule_of(channel: str, event: str, raw: str | bytes, mode: str = "text") -> str:
    with pytest.raises(InvalidEvent) as info:
        prepare(channel, event, raw, mode)  # type: ignore[arg-type]
    return info.value.rule


# -- one test per rule -------------------------------------------------------


def test_channel_rule() -> None:
    assert rule_of("bad channel", "e", "x") == "channel"
    assert rule_of("c" * 65, "e", "x") == "channel"


def test_event_rule() -> None:
    assert rule_of("c", "9lives", "x") == "event"
    assert rule_of("c", "e" * 65, "x") == "event"


def test_reserved_rule() -> None:
    assert rule_of("c", "keep-alive", "x") == "reserved"


def test_utf8_rule_for_bytes_and_for_undecodable_arguments() -> None:
    assert rule_of("c", "e", b"caf\xe9") == "utf8"
    # a shell argument with invalid UTF-8 arrives as a lone surrogate
    assert rule_of("c", "e", "caf\udce9") == "utf8"


def test_nul_rule() -> None:
    assert rule_of("c", "e", "a\x00b") == "nul"


def test_cr_rule() -> None:
    assert rule_of("c", "e", "line\r\n") == "cr"


def test_size_rule_counts_utf8_bytes_of_what_is_sent() -> None:
    with override_settings(DASHBOARDS_MAX_DATA_BYTES=5):
        assert prepare("c", "e", "abcde").data == "abcde"
        assert rule_of("c", "e", "ééé") == "size"
        # JSON is measured compact: the spaces do not count
        assert prepare("c", "e", " [ 1 , 2 ] ", "json").data == "[1,2]"
        assert rule_of("c", "e", "[1,2,3]", "json") == "size"


def test_input_far_over_the_limit_is_refused_without_reading_it_all() -> None:
    stream = io.BytesIO(b"x" * (10 * INPUT_FACTOR + 100))
    with pytest.raises(InvalidEvent) as info:
        read_limited(stream, 10)
    assert info.value.rule == "size"
    assert stream.tell() == 10 * INPUT_FACTOR + 1


def test_json_rule() -> None:
    assert rule_of("c", "e", "{not json", "json") == "json"
    assert rule_of("c", "e", "", "json") == "json"
    assert rule_of("c", "e", "NaN", "json") == "json"
    assert rule_of("c", "e", "[Infinity]", "json") == "json"
    assert rule_of("c", "e", b'"\xff"', "json") == "utf8"
    assert rule_of("c", "e", "{oops", "stat") == "json"


@pytest.mark.parametrize(
    ("mode", "value"),
    [
        ("stat", {"sub_text": "no text"}),
        ("stat", {"text": "x", "colour": "red"}),
        ("stat", [1, 2]),
        ("stat", None),
        ("chart", 5),
        ("chart", {"points": [1]}),
        ("chart", [1, "2"]),
        ("chart", [1, True]),
    ],
)
def test_value_rule(mode: str, value: object) -> None:
    assert rule_of("c", "e", json.dumps(value), mode) == "value"


def test_value_rule_when_the_feed_of_that_event_is_another_component() -> None:
    with pytest.raises(InvalidEvent) as info:
        prepare("demo", STAT.key, "[1, 2]", "chart")
    assert info.value.rule == "value"
    assert "use --render stat" in str(info.value)


# -- what is sent --------------------------------------------------------------


def test_text_is_sent_as_given() -> None:
    data = 'line 1\n\tline "2" 100% %I ünïcødé 🚀\n\n'
    assert prepare("c", "e", data).data == data
    assert prepare("c", "e", data.encode()).data == data


def test_json_is_sent_compact_and_keeps_unicode() -> None:
    event = prepare("c", "e", '{\n  "a": [1, 2.5, null],\n  "b": "ü\\n"\n}', "json")
    assert event.data == '{"a":[1,2.5,null],"b":"ü\\n"}'
    assert json.loads(event.data) == {"a": [1, 2.5, None], "b": "ü\n"}


def test_compact_json_escapes_control_characters() -> None:
    assert compact_json("\x00\r") == '"\\u0000\\r"'


def test_render_uses_the_feed_component_of_that_event() -> None:
    value = {"text": "42%", "sub_text": "ops", "change": 1.5}
    assert prepare("demo", STAT.key, json.dumps(value), "stat").data == STAT.render(STAT.next_state(None, value))
    assert prepare("other", CHART.key, "[1, 2]", "chart").data == CHART.render([1.0, 2.0])
    assert 'aria-label="CPU load"' in prepare("demo", STAT.key, '"7"', "stat").data


def test_render_of_an_unknown_event_uses_a_plain_component() -> None:
    assert prepare("c", "headline", '{"text": "hi"}', "stat").data == Stat("headline").render({"text": "hi"})
    assert prepare("c", "trend", "[1, 2, 3]", "chart").data == Chart("trend").render([1, 2, 3])


def test_render_escapes_values() -> None:
    data = prepare("c", "headline", '{"text": "<script>alert(1)</script>", "sub_text": "\\"><b>"}', "stat").data
    assert "<script>" not in data and "<b>" not in data
    assert "&lt;script&gt;" in data


def test_a_refusal_is_one_line_whatever_the_input() -> None:
    with pytest.raises(InvalidEvent) as info:
        prepare("c", "e", '{"\\n\\u2028x": 1}', "stat")
    assert str(info.value) == "invalid stat value: unknown Stat field(s): \\n\\u2028x"


@pytest.mark.parametrize("raw", ["1e999", "-1e999", "[1, 1e400]", '{"a": 1e999}', "9" * 400, "Infinity", "NaN"])
def test_json_that_is_no_finite_number_is_refused_on_every_mode(raw: str) -> None:
    for mode in ("json", "stat"):
        with pytest.raises(InvalidEvent) as info:
            prepare("demo", "memory", raw, mode)
        assert info.value.rule == "json" and len(str(info.value)) < 200
