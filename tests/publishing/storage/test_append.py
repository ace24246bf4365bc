from __future__ import annotations

import datetime
import time
from typing import Any

import pytest
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from dashboards_live.contract import Event
from dashboards_live.publishing import storage

pytestmark = pytest.mark.django_db(transaction=True)


def events(channel: str, n: int, prefix: str = "e") -> list[Event]:
    return [Event(channel, f"{prefix}{i}", f"<p>{i} 100%</p>") for i in range(n)]


def test_a_batch_gets_consecutive_ids_that_django_eventstream_reads_back() -> None:
    from django_eventstream.storage import DjangoModelStorage

    published = storage.append_events(events("a", 3) + events("b", 2))
    assert [p.id for p in published] == [1, 2, 3, 1, 2]
    reader = DjangoModelStorage()
    assert reader.get_current_id("a") == 3
    replay = reader.get_events("a", 0)
    assert [(e.id, e.type, e.data) for e in replay] == [(i + 1, f"e{i}", f"<p>{i} 100%</p>") for i in range(3)]


def test_ids_interleave_with_django_eventstreams_own_appends() -> None:
    from django_eventstream.storage import DjangoModelStorage

    upstream = DjangoModelStorage()
    assert upstream.append_event("mixed", "x", "first").id == 1
    assert [p.id for p in storage.append_events(events("mixed", 2))] == [2, 3]
    assert upstream.append_event("mixed", "x", "last").id == 4
    assert [e.id for e in upstream.get_events("mixed", 0)] == [1, 2, 3, 4]


def test_rows_match_what_django_eventstream_writes() -> None:
    from django_eventstream.models import Event as Row
    from django_eventstream.storage import DjangoModelStorage

    DjangoModelStorage().append_event("up", "x", "<b>1</b>")
    storage.append_events([Event("ours", "x", "<b>1</b>")])
    fields = ("eid", "type", "data")
    assert list(Row.objects.filter(channel="up").order_by("eid").values_list(*fields)) == list(
        Row.objects.filter(channel="ours").order_by("eid").values_list(*fields)
    )


def test_a_batch_costs_a_few_queries_not_several_per_event(monkeypatch: pytest.MonkeyPatch) -> None:
    from django.db import connection

    storage.append_events(events("q", 1))  # the channel's counter exists from here on
    # no trim in this batch; monkeypatch puts the module's schedule back afterwards,
    # or no later test in this process would ever trim
    monkeypatch.setattr(storage, "_next_trim", 1e18)
    with CaptureQueriesContext(connection) as queries:
        storage.append_events(events("q", 100))
    assert len(queries) <= 6


def test_expired_events_are_trimmed_at_most_once_a_minute(monkeypatch: pytest.MonkeyPatch) -> None:
    from django_eventstream.models import Event as Row

    storage.append_events(events("old", 3))
    Row.objects.filter(channel="old").update(created=timezone.now() - datetime.timedelta(days=2))
    # the simulated clock below (1000 s) is behind time.monotonic(): restore the real schedule afterwards
    monkeypatch.setattr(storage, "_next_trim", 0.0)
    assert storage.maybe_trim(now=1000.0) is True
    # all but the newest of each component: a late-join page still has something to show
    assert Row.objects.filter(channel="old", eid__gt=0).count() == len({e.name for e in events("old", 3)})
    assert storage.maybe_trim(now=1000.0 + storage.TRIM_EVERY - 1) is False
    assert storage.maybe_trim(now=1000.0 + storage.TRIM_EVERY) is True


@pytest.fixture
def retention(settings: Any) -> None:
    settings.DASHBOARDS_RETENTION = 3600.0
    settings.DASHBOARDS_RETENTION_EVENTS = 0


def kinds_and_ids(channel: str) -> list[tuple[str, int]]:
    from django_eventstream.models import Event as Row

    return list(Row.objects.filter(channel=channel, eid__gt=0).order_by("eid").values_list("type", "eid"))


@pytest.mark.usefixtures("retention")
def test_trim_deletes_old_events_but_keeps_the_newest_of_every_component() -> None:
    from django_eventstream.models import Event as Row

    storage.append_events([Event("t", "a", "1"), Event("t", "b", "1"), Event("t", "a", "2"), Event("t", "a", "3")])
    Row.objects.filter(channel="t").update(created=timezone.now() - datetime.timedelta(hours=2))
    storage.append_events([Event("t", "a", "4")])
    assert storage.trim() == 3
    # b's only event is old, but the page needs it; a's old ones go, its newest stays
    assert kinds_and_ids("t") == [("b", 2), ("a", 5)]
    assert Row.objects.filter(channel="t", eid=0).exists()  # django-eventstream's placeholder stays


@pytest.mark.usefixtures("retention")
def test_the_per_channel_cap_keeps_the_last_n_and_every_components_newest(settings: Any) -> None:
    settings.DASHBOARDS_RETENTION_EVENTS = 3
    storage.append_events([Event("cap", "rare", "x")] + [Event("cap", "busy", str(i)) for i in range(9)])
    storage.append_events([Event("other", "busy", str(i)) for i in range(3)])
    storage.trim()
    assert kinds_and_ids("cap") == [("rare", 1), ("busy", 8), ("busy", 9), ("busy", 10)]
    assert len(kinds_and_ids("other")) == 3


@pytest.mark.usefixtures("retention")
def test_trim_works_in_batches() -> None:
    from django_eventstream.models import Event as Row

    storage.append_events([Event("many", "a", str(i)) for i in range(25)])
    Row.objects.filter(channel="many").update(created=timezone.now() - datetime.timedelta(hours=2))
    assert storage.trim(batch=4) == 24
    assert kinds_and_ids("many") == [("a", 25)]


def test_a_bad_retention_setting_is_one_line_naming_it(settings: Any) -> None:
    from dashboards_live.conf import retention
    from dashboards_live.errors import ConfigError

    settings.DASHBOARDS_RETENTION_EVENTS = -1
    with pytest.raises(ConfigError, match="DASHBOARDS_RETENTION_EVENTS"):
        retention()


def test_the_publish_lock_file_keeps_a_second_publisher_out_until_the_first_is_done(tmp_path: Any) -> None:
    from dashboards_live.errors import PublishError

    path = str(tmp_path / "db.sqlite3.publish-lock")
    with (
        storage._file_lock(path, time.monotonic() + 1),
        pytest.raises(PublishError, match="held it past the timeout"),
        storage._file_lock(path, time.monotonic() + 0.05),
    ):
        pass
    with storage._file_lock(path, time.monotonic() + 0.05):
        pass  # free again


def test_publish_holds_the_channels_from_storing_to_posting() -> None:
    from tests.support.fakes import fake_engine

    engine = fake_engine(stored=True)
    engine.publish([Event("b", "x", "1"), Event("a", "x", "1"), Event("a", "y", "2")])
    assert engine.store.serializations == [["a", "b"]]  # type: ignore[attr-defined]
