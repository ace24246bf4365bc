from __future__ import annotations

import json

from dashboards_live.contract import Event
from dashboards_live.publishing.encoding import (
    MAX_ITEMS_PER_POST,
    PUSHPIN_MAX_BODY,
    batch_sizes,
    batches,
    body_of,
    encode_body,
    encode_item,
    export_item,
    kick_items,
    sse_frame,
)


def test_sse_frame_splits_lines() -> None:
    assert sse_frame("e", "a\nb", "c:1") == "event: e\nid: c:1\ndata: a\ndata: b\n\n"


def test_a_shared_frame_carries_its_browser_id_and_needs_no_filter() -> None:
    item = export_item(Event("c", "e", "100% %I"), 5)
    assert item["id"] == "5" and item["prev-id"] == "4"
    # the id is filled in; "%" is escaped for the build-id filter every stream keeps
    assert item["http-stream"] == {"content": "event: e\nid: c:5\ndata: 100%% %%I\n\n"}


def test_stored_item_escapes_percent_for_pushpin_build_id() -> None:
    item = export_item(Event("c", "e", "100%"), 5, shared=False)
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


def test_batches_hold_at_most_the_item_cap() -> None:
    items = [export_item(Event("c", "e", "x"), i) for i in range(1, 2 * MAX_ITEMS_PER_POST + 2)]
    assert [len(b) for b in batches(items)] == [MAX_ITEMS_PER_POST, MAX_ITEMS_PER_POST, 1]


def test_batch_sizes_put_an_oversized_item_alone() -> None:
    assert batch_sizes([10, 100, 10], limit=60) == [1, 1, 1]
    assert batch_sizes([10, 10, 10], limit=1000, max_items=2) == [2, 1]
    assert batch_sizes([]) == []


def test_a_body_of_encoded_items_equals_the_body_of_the_items() -> None:
    items = [export_item(Event("c", "e", f"ü {i}"), i) for i in range(1, 4)]
    assert body_of([encode_item(item) for item in items]) == encode_body(items)
