"""Reading a rendered fragment's root attributes back: how a Chart finds the state it was drawn from."""

from __future__ import annotations

import re

ROOT_TAG = re.compile(r"\s*<[A-Za-z][A-Za-z0-9-]*((?:\s[^>]*)?)>")
ATTRIBUTE = re.compile(r'\s([A-Za-z][A-Za-z0-9_:.-]*)="([^"]*)"')


def root_attributes(fragment: str | None) -> dict[str, str] | None:
    """The double-quoted attributes of a fragment's first tag (still HTML-escaped), or None.

    Autoescape turns every > and " inside an attribute value into an entity, so
    the tag ends at the first >.
    """
    if not isinstance(fragment, str):
        return None
    match = ROOT_TAG.match(fragment)
    if match is None:
        return None
    return dict(ATTRIBUTE.findall(match.group(1)))
