from __future__ import annotations

import json

import pytest

from dashboards_live.publishing import (
    PUSHPIN_MAX_BODY,
    Event,
    InvalidEvent,
    batches,
    encode_body,
    export_item,
    kick_items,
    make_event,
    sse_frame,
)


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


def test_sse_frame_splits_lines() -> None:
    assert sse_frame("e", "a\nb", "c:1") == "event: e\nid: c:1\ndata: a\ndata: b\n\n"


def test_stored_item_escapes_percent_for_pushpin_build_id() -> None:
    item = export_item(Event("c", "e", "100%"), 5)
    assert item["channel"] == "events-c"
    assert item["id"] == "5" and item["prev-id"] == "4"
    assert item["http-stream"]["content"] == "event: e\nid: %I\ndata: 100%%\n\n"
    assert item["http-stream"]["content-filters"] == ["build-id"]


def test_batches_stay_under_the_limit_and_keep_order() -> None:
    items = [export_item(Event("c", "e", "x" * 1000), i) for i in range(1, 301)]
    out = batches(items, limit=50_000)
    assert [i for b in out for i in b] == items
    assert all(len(encode_body(b)) <= 50_000 for b in out)
    assert len(out) > 1


def test_body_is_json_pushpin_accepts() -> None:
    body = encode_body([export_item(Event("c", "e", "ü"), 1)])
    assert json.loads(body)["items"][0]["channel"] == "events-c"
    assert len(body) < PUSHPIN_MAX_BODY


def test_kick_items_end_one_users_streams_that_carry_a_mark() -> None:
    error, close = kick_items("7", "access-staff", "Staff status removed.")
    assert error["channel"] == close["channel"] == "user-7"
    assert error["meta"] == close["meta"] == {"require_sub": "access-staff"}
    assert close["http-stream"] == {"action": "close"}
    frame = error["http-stream"]["content"]
    assert frame.startswith("event: stream-error\nid: error\ndata: ")
    data = json.loads(frame.split("data: ", 1)[1])
    assert data == {"condition": "forbidden", "text": "Staff status removed."}
