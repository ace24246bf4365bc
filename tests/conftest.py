from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support.browser import browser, page  # noqa: F401  (fixtures for every test that drives a page)
from tests.support.postgres import Cluster, start_cluster
from tests.support.stack import Stack

# every integration test that uses the shared `stack` runs once on each
DATABASES = ("sqlite", "postgres")
INTEGRATION = Path(__file__).parent / "integration"


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """Integration tests that use `stack` (or `on_stack`) run on SQLite and on PostgreSQL.

    The browser tests stay on SQLite: the database under them is the same code,
    and each of them costs seconds of Chromium.
    """
    if "stack" in metafunc.fixturenames and INTEGRATION in metafunc.definition.path.parents:
        metafunc.parametrize("stack", DATABASES, indirect=True, scope="session")


@pytest.fixture(scope="session")
def postgres_cluster() -> Iterator[Cluster]:
    """A throwaway PostgreSQL server for the session, started by the first test that needs it."""
    cluster = start_cluster()
    try:
        yield cluster
    finally:
        cluster.close()


def new_stack(request: pytest.FixtureRequest, base: Path, database: str, **kwargs: Any) -> Stack:
    """A Stack on `database` ("sqlite" or "postgres": a fresh database in the session's cluster)."""
    if database == "postgres":
        return Stack(base, database="postgres", cluster=request.getfixturevalue("postgres_cluster"), **kwargs)
    if database == "sqlite":
        return Stack(base, **kwargs)
    raise ValueError(f"unknown database {database!r}: one of {DATABASES}")


@pytest.fixture(scope="session")
def sqlite_stack(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """The shared stack on SQLite."""
    s = new_stack(request, tmp_path_factory.mktemp("stack-sqlite"), "sqlite")
    try:
        yield s.start()
    finally:
        s.close()


@pytest.fixture(scope="session")
def postgres_stack(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """The shared stack on PostgreSQL."""
    s = new_stack(request, tmp_path_factory.mktemp("stack-postgres"), "postgres")
    try:
        yield s.start()
    finally:
        s.close()


@pytest.fixture(scope="session")
def stack(request: pytest.FixtureRequest) -> Stack:
    """One Pushpin and one gunicorn shared by the tests that only read and publish.

    Under tests/integration it is parametrised over DATABASES; elsewhere it is
    the SQLite one. Both shared stacks live for the whole session, so a shuffled
    order (pytest-randomly) never starts one twice.
    """
    database = getattr(request, "param", "sqlite")
    stack: Stack = request.getfixturevalue(f"{database}_stack")
    return stack


@pytest.fixture
def own_stack(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Stack]:
    """A private stack, for tests that stop or restart its processes.

    On SQLite; `@pytest.mark.parametrize("own_stack", DATABASES, indirect=True)`
    runs a test on each database.
    """
    s = new_stack(request, tmp_path / "stack", getattr(request, "param", "sqlite"))
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


@pytest.fixture(autouse=True)
def trim_in_the_test_thread(monkeypatch: pytest.MonkeyPatch) -> None:
    """Retention trims run on the caller's thread in tests: inside the test's transaction, never beside it."""
    from dashboards_live.publishing.storage import background

    monkeypatch.setattr(background, "BACKGROUND", False)
