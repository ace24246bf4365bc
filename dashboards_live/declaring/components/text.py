"""Text: a block of text, its line breaks kept."""

from __future__ import annotations

from typing import Any

from dashboards_live.declaring.components.base import Component, InvalidValue, is_number


class Text(Component):
    """A block of text; line breaks are kept."""

    template_name = "dashboards_live/components/text.html"
    kind = "text"

    def next_state(self, previous: Any, value: Any, at: float | None = None) -> str:
        if isinstance(value, str):
            return value
        if is_number(value):
            return str(value)
        raise InvalidValue("a Text value is a string (or a number)")

    def context(self, state: Any) -> dict[str, Any]:
        return {"text": self.next_state(None, state)}
