from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from dashboards_live.publishing import ITEM_OVERHEAD, MAX_EXPANSION, Event, encode_body, export_item

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
