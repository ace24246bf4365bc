"""Headless Chromium (Debian's, driven by Playwright's sync API), one per test session.

The fixtures live here and are imported by tests/conftest.py, so every test
that drives a page (tests/browser, and the new-project test in
tests/integration) shares one Playwright: a second sync Playwright in the same
session would refuse to start inside the first one's event loop.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import pytest

from tests.support.stack import require

# As root Chromium needs --no-sandbox; the rest keep it off the network.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-default-apps",
    "--disable-extensions",
]


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    chromium = require("chromium", "browser tests drive Debian's Chromium")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:  # pragma: no cover - requirements-dev.txt installs it
        message = "PLAYWRIGHT IS NOT INSTALLED: pip install -r requirements-dev.txt"
        if os.environ.get("DASHBOARDS_TEST_STRICT") == "1":
            pytest.fail(message)
        pytest.skip(message)
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=chromium, headless=True, args=CHROMIUM_ARGS)
        try:
            yield b
        finally:
            b.close()


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    context = browser.new_context()
    pg = context.new_page()
    errors: list[str] = []
    pg.on("pageerror", lambda exc: errors.append(str(exc)))
    pg.errors = errors
    try:
        yield pg
    finally:
        context.close()
