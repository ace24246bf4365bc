"""The browser tests' fixtures: browser and page are shared with every test (tests/support/browser.py);
the htmx 4 stack and the `line` parameter are shared by the tests that run under both htmx lines."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.browser import CHROMIUM_ARGS
from tests.support.stack import Stack

__all__ = ["CHROMIUM_ARGS"]


@pytest.fixture(scope="session")
def htmx4_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """A stack whose pages load htmx 4 (DASHBOARDS_HTMX=4), started once for every test that asks."""
    s = Stack(Path(tmp_path_factory.mktemp("htmx4")))
    s.env["DASHBOARDS_HTMX"] = "4"
    s.env["DASHBOARDS_APPS"] = "tests.support.dashapp"
    try:
        yield s.start()
    finally:
        s.close()


@pytest.fixture(params=["2", "4"])
def line(request: pytest.FixtureRequest) -> tuple[str, Stack]:
    """Each htmx line on a stack that loads it: the shared one is django-htmx's default, htmx 2."""
    stack: Stack = request.getfixturevalue("stack" if request.param == "2" else "htmx4_stack")
    return request.param, stack
