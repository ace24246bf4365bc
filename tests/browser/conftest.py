"""The browser tests' fixtures (browser, page) are shared with every test: tests/support/browser.py."""

from tests.support.browser import CHROMIUM_ARGS

__all__ = ["CHROMIUM_ARGS"]
