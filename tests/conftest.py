from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support.stack import Stack


@pytest.fixture(scope="session")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """One Pushpin and one gunicorn shared by the tests that only read and publish."""
    s = Stack(tmp_path_factory.mktemp("stack"))
    try:
        yield s.start()
    finally:
        s.close()


@pytest.fixture
def own_stack(tmp_path: Path) -> Iterator[Stack]:
    """A private stack, for tests that stop or restart its processes."""
    s = Stack(tmp_path / "stack")
    try:
        yield s.start()
    finally:
        s.close()


@pytest.fixture
def on_stack(stack: Stack, django_db_blocker: Any, monkeypatch: pytest.MonkeyPatch) -> Iterator[Stack]:
    """The shared stack, with this process's Django publishing to it (its database, its Pushpin)."""
    # Playwright's sync API (the browser tests) leaves an event loop in this
    # thread, and Django then refuses database calls from it
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    with django_db_blocker.unblock(), stack.in_process():
        yield stack
