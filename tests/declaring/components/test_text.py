from __future__ import annotations

import pytest

from dashboards_live.declaring.components import InvalidValue, Text

HOSTILE = '"><script>alert(1)</script>'


def test_text_keeps_line_breaks_after_escaping() -> None:
    html = Text("n", title="Notes").render("<b>one</b>\ntwo")
    assert '<div class="text-body">&lt;b&gt;one&lt;/b&gt;<br>two</div>' in html


def test_text_escapes_the_title() -> None:
    assert "<script>" not in Text("n", title=HOSTILE).render("x")


def test_text_turns_numbers_into_strings() -> None:
    assert Text("n").next_state(None, 42) == "42"


@pytest.mark.parametrize("value", [None, True, ["a"], {"text": "a"}])
def test_text_refuses_other_values(value: object) -> None:
    with pytest.raises(InvalidValue):
        Text("n").next_state(None, value)
