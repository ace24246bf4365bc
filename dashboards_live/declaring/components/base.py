"""What every component shares: its declaration (key, title, width, poll rate), rendering and page slot."""

from __future__ import annotations

import json
import math
from typing import Any, ClassVar, TypeGuard

from django.template.loader import get_template, render_to_string
from django.utils.safestring import SafeString, mark_safe

from dashboards_live.contract import validate_event_name
from dashboards_live.declaring.components.numbers import seconds_text

MAX_WIDTH = 4


class InvalidValue(ValueError):
    """A value a component cannot render (wrong shape or type)."""


def is_number(value: object) -> TypeGuard[float]:
    """A finite float, or an int that is one: 10**400 is no measurement, and no float holds it."""
    # bool is an int to Python, never a measurement to a user
    if not isinstance(value, int | float) or isinstance(value, bool):
        return False
    try:
        return math.isfinite(value)
    except OverflowError:
        return False


def shown(value: object, limit: int = 40) -> str:
    """A value's repr for an error message, cut short (a refusal is one readable line)."""
    text = repr(value)
    return text if len(text) <= limit else f"{text[:limit]}... ({len(text)} characters)"


def optional_number(value: Any, what: str) -> float | None:
    """A declaration's optional finite number (ValueError: declarations are code, not input)."""
    if value is None:
        return None
    if not is_number(value):
        raise ValueError(f"{what} must be a finite number or None, not {shown(value)}")
    return float(value)


class Component:
    """A piece of a dashboard. Its key is the SSE event name it swaps on."""

    template_name: ClassVar[str] = ""
    kind: ClassVar[str] = ""
    # value components announce each new value; a chart's text alternative would chatter
    announces: ClassVar[bool] = True
    # whether next_state needs the previous state (so a publisher elsewhere must read it back with state_from)
    builds_on_previous: ClassVar[bool] = False
    # each event carries the whole state, so a reconnect replays only the newest;
    # False for a kind whose events add to what came before (a log): replayed in full
    whole_state: ClassVar[bool] = True

    def __init__(
        self,
        key: str | None = None,
        *,
        title: str = "",
        width: int = 1,
        poll_rate: float | None = None,
        stale_after: float | None = None,
    ) -> None:
        # the key is the event name: the same rule, checked when the component is declared
        self.key: str = "" if key is None else validate_event_name(key)
        self._key_given = key is not None
        self.attribute: str | None = None
        self.dashboard: Any = None
        self.title = title
        if isinstance(width, bool) or not isinstance(width, int) or not 1 <= width <= MAX_WIDTH:
            raise ValueError(f"width is the number of grid columns spanned, 1 to {MAX_WIDTH}, not {width!r}")
        self.width = width
        if poll_rate is not None and (not is_number(poll_rate) or poll_rate <= 0):
            raise ValueError(f"poll_rate is a positive number of seconds or None, not {poll_rate!r}")
        self.poll_rate = poll_rate
        # seconds without a value after which the page marks it stale (feeds: from their every=)
        if stale_after is not None and (not is_number(stale_after) or stale_after <= 0):
            raise ValueError(f"stale_after is a positive number of seconds or None, not {stale_after!r}")
        self.stale_after = stale_after
        self._template: Any = None

    def __set_name__(self, owner: type, name: str) -> None:
        self.attribute = name
        if not self._key_given:
            # not validated here: the Dashboard reports bad names as system check errors
            self.key = name

    @property
    def channel(self) -> str | None:
        channel = getattr(self.dashboard, "channel", None)
        return None if channel is None else str(channel)

    def next_state(self, previous: Any, value: Any, at: float | None = None) -> Any:
        """The state to render after `value` arrives (whole state, not a delta), as JSON data."""
        raise NotImplementedError

    def context(self, state: Any) -> dict[str, Any]:
        raise NotImplementedError

    def render(self, state: Any) -> str:
        # the loaded template is kept: a feed renders the same one thousands of times
        if self._template is None:
            self._template = get_template(self.template_name)
        html_text = self._template.render({"component": self, **self.context(state)})
        return "\n".join(line for line in html_text.strip().splitlines() if line.strip())

    def stored_state(self, state: Any) -> str | None:
        """The state to store beside the fragment (JSON), for kinds whose next state builds on it; else None."""
        if not self.builds_on_previous:
            return None
        return json.dumps(state, separators=(",", ":"), ensure_ascii=False, allow_nan=False)

    def restore(self, stored: str) -> Any:
        """The state stored_state() stored, checked; None if it is not one (a value then starts afresh)."""
        return None

    def render_slot(
        self,
        fragment: str | None,
        *,
        poll_url: str | None = None,
        stale_after: float | None = None,
        age: float | None = None,
    ) -> SafeString:
        """The page element that swaps in this component's events (and polls while the stream is down).

        `stale_after`: seconds without a value before the page marks it stale;
        `age`: seconds since `fragment` was published.
        """
        if not self.key:
            raise ValueError(f"{self!r} has no key: give one, or declare it on a Dashboard")
        poll_every = seconds_text(self.poll_rate) if self.poll_rate is not None and poll_url else ""
        return mark_safe(
            render_to_string(
                "dashboards_live/components/slot.html",
                {
                    "component": self,
                    # the fragment is ours: rendered by render() with autoescape, then stored
                    "fragment": mark_safe(fragment) if fragment else None,
                    "poll_url": poll_url,
                    "poll_every": poll_every,
                    "stale_after": None if stale_after is None else f"{stale_after:g}",
                    "age": None if age is None or fragment is None else f"{max(age, 0.0):.1f}",
                },
            )
        )

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.key!r})"
