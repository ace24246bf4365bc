from __future__ import annotations

import pytest

from dashboards_live.contract import Event, InvalidEvent, make_event
from dashboards_live.declaring.components import Stat


@pytest.mark.parametrize("channel", ["", "a" * 65, "with space", "slash/", "ünï", "a\nb"])
def test_bad_channels_are_refused(channel: str) -> None:
    with pytest.raises(InvalidEvent) as info:
        make_event(channel, "e", "x")
    assert info.value.rule == "channel"


@pytest.mark.parametrize("name", ["", "1abc", "-x", "a" * 65, "a b", "a\rb", "a\nb", "a\x00b", "é"])
def test_bad_event_names_are_refused(name: str) -> None:
    with pytest.raises(InvalidEvent) as info:
        make_event("c", name, "x")
    assert info.value.rule == "event"


@pytest.mark.parametrize("name", ["stream-open", "stream-reset", "stream-error", "keep-alive"])
def test_reserved_event_names_are_refused(name: str) -> None:
    with pytest.raises(InvalidEvent) as info:
        make_event("c", name, "x")
    assert info.value.rule == "reserved"


def test_limits_are_inclusive() -> None:
    assert make_event("a" * 64, "e" + "x" * 63, "x" * 10, max_bytes=10).data == "x" * 10


def test_data_over_the_limit_is_refused_counting_utf8_bytes() -> None:
    with pytest.raises(InvalidEvent) as info:
        make_event("c", "e", "é" * 6, max_bytes=11)
    assert info.value.rule == "size"


def test_data_must_be_utf8() -> None:
    with pytest.raises(InvalidEvent) as info:
        make_event("c", "e", b"\xff\xfe")
    assert info.value.rule == "utf8"
    with pytest.raises(InvalidEvent):
        make_event("c", "e", "\ud800")


def test_nul_and_cr_are_refused_in_data() -> None:
    with pytest.raises(InvalidEvent) as info:
        make_event("c", "e", "a\x00b")
    assert info.value.rule == "nul"
    with pytest.raises(InvalidEvent) as info:
        make_event("c", "e", "a\r\nb")
    assert info.value.rule == "cr"


def test_newlines_tabs_quotes_percent_and_unicode_are_legal() -> None:
    data = 'line 1\n\tline "2" 100% ünïcødé 🚀\n'
    assert make_event("c", "e", data).data == data


def test_an_event_can_only_be_built_valid() -> None:
    with pytest.raises(InvalidEvent) as info:
        Event("c", "keep-alive", "x")
    assert info.value.rule == "reserved"
    with pytest.raises(InvalidEvent) as info:
        Event("bad channel", "e", "x")
    assert info.value.rule == "channel"
    with pytest.raises(InvalidEvent) as info:
        Event("c", "e", "a\x00b")
    assert info.value.rule == "nul"


def test_the_data_limit_is_the_setting(settings) -> None:
    settings.DASHBOARDS_MAX_DATA_BYTES = 4
    assert Event("c", "e", "abcd").data == "abcd"
    with pytest.raises(InvalidEvent) as info:
        Event("c", "e", "abcde")
    assert info.value.rule == "size"


@pytest.mark.parametrize("key", ["keep-alive", "stream-open", "1st", "a b"])
def test_a_component_key_obeys_the_event_name_rule_at_declaration(key: str) -> None:
    with pytest.raises(InvalidEvent):
        Stat(key)
