"""The viewer counts the pages read: current until they expire, nothing when no reader says any."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from dashboards_live.running import viewers

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 12, 5, 20, 0, tzinfo=UTC)


def test_nothing_known_is_none_not_zero() -> None:
    assert viewers.watching(NOW) is None
    assert viewers.watching_channel("demo", NOW) is None


def test_a_snapshot_replaces_the_last_and_holds_until_it_expires() -> None:
    viewers.store({"demo": 3, "ops": 1}, 5, NOW + timedelta(seconds=15))
    viewers.store({"demo": 2}, 4, NOW + timedelta(seconds=15))
    assert viewers.watching(NOW) == {"demo": 2}
    assert viewers.watching_channel("demo", NOW) == 2
    assert viewers.watching_channel("ops", NOW) == 0, "known, and nobody watches"
    assert viewers.watching(NOW + timedelta(seconds=15)) is None


def test_a_reader_running_with_nobody_watching_says_zero() -> None:
    viewers.store({}, 0, NOW + timedelta(seconds=15))
    assert viewers.watching(NOW) == {}


def test_clear() -> None:
    viewers.store({"demo": 3}, 3, NOW + timedelta(seconds=15))
    viewers.clear()
    assert viewers.watching(NOW) is None


def test_check_names_the_fix_when_the_table_is_missing(monkeypatch: pytest.MonkeyPatch) -> None:
    from django.db import DatabaseError

    from dashboards_live.errors import PublishError
    from dashboards_live.models import Viewers

    viewers.check()

    def missing() -> bool:
        raise DatabaseError("no such table:\n dashboards_live_viewers")

    monkeypatch.setattr(Viewers.objects, "exists", missing)
    with pytest.raises(PublishError, match=r"\(no such table: dashboards_live_viewers\): run manage.py migrate"):
        viewers.check()
