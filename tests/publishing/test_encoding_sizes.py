from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from dashboards_live.contract import Event
from dashboards_live.publishing.encoding import ITEM_OVERHEAD, MAX_EXPANSION, encode_body, export_item, grip_channel

# what validation lets through: any text without CR or NUL, LF and other control characters included
data = st.text(alphabet=st.characters(exclude_characters="\r\x00", codec="utf-8"), max_size=200)


@settings(max_examples=300, deadline=None)
@given(data=data)
def test_the_size_check_shortcut_never_underestimates_an_encoded_event(data: str) -> None:
    # check_size skips encoding events below this bound, so it must hold for every input
    event = Event("c" * 64, "e" * 64, data)
    size = len(encode_body([export_item(event, 2**62)]))
    assert size <= len(data) * MAX_EXPANSION + ITEM_OVERHEAD


def test_the_worst_character_is_lf() -> None:
    empty = len(encode_body([export_item(Event("c" * 64, "e" * 64, ""), 2**62)]))
    lines = len(encode_body([export_item(Event("c" * 64, "e" * 64, "\n" * 1000), 2**62)]))
    assert lines - empty == 1000 * MAX_EXPANSION
    assert empty < ITEM_OVERHEAD


def pubcontrol_item(event: Event, stored_id: int | None, shared: bool = False) -> dict[str, object]:
    """How django-eventstream builds the same item, through pubcontrol's classes (shared: with its id built in)."""
    from django_eventstream.utils import make_id, sse_encode_event
    from gripcontrol import HttpStreamFormat
    from pubcontrol import Item

    # every frame escaped for the build-id filter the streams hold (django-eventstream
    # escapes only the frames it asks the filter to fill in)
    if stored_id is None:
        item = Item(HttpStreamFormat(sse_encode_event(event.name, event.data, escape=True)))
    elif shared:
        content = sse_encode_event(event.name, event.data, event_id=make_id({event.channel: stored_id}), escape=True)
        item = Item(HttpStreamFormat(content), id=str(stored_id), prev_id=str(stored_id - 1))
    else:
        content = sse_encode_event(event.name, event.data, event_id="%I", escape=True)
        fmt = HttpStreamFormat(content, content_filters=["build-id"])
        item = Item(fmt, id=str(stored_id), prev_id=str(stored_id - 1))
    exported: dict[str, object] = item.export()
    exported["channel"] = grip_channel(event.channel)
    return exported


@settings(max_examples=200, deadline=None)
@given(data=data, stored_id=st.none() | st.integers(min_value=1, max_value=2**62))
def test_items_are_built_exactly_as_pubcontrol_builds_them(data: str, stored_id: int | None) -> None:
    event = Event("ch.a-1", "ev_1", data)
    assert export_item(event, stored_id, shared=False) == pubcontrol_item(event, stored_id)
    assert export_item(event, stored_id) == pubcontrol_item(event, stored_id, shared=True)
