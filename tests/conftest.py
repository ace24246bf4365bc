from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

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
