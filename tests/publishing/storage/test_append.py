from __future__ import annotations

import pytest
from django.test.utils import CaptureQueriesContext

from dashboards_live.contract import Event
from dashboards_live.publishing.storage import retention
from dashboards_live.publishing.storage.append import append_events

pytestmark = pytest.mark.django_db(transaction=True)


def events(channel: str, n: int, prefix: str = "e") -> list[Event]:
    return [Event(channel, f"{prefix}{i}", f"<p>{i} 100%</p>") for i in range(n)]


def test_a_batch_gets_consecutive_ids_that_django_eventstream_reads_back() -> None:
    from django_eventstream.storage import DjangoModelStorage

    published = append_events(events("a", 3) + events("b", 2))
    assert [p.id for p in published] == [1, 2, 3, 1, 2]
    reader = DjangoModelStorage()
    assert reader.get_current_id("a") == 3
    replay = reader.get_events("a", 0)
    assert [(e.id, e.type, e.data) for e in replay] == [(i + 1, f"e{i}", f"<p>{i} 100%</p>") for i in range(3)]


def test_ids_interleave_with_django_eventstreams_own_appends() -> None:
    from django_eventstream.storage import DjangoModelStorage

    upstream = DjangoModelStorage()
    assert upstream.append_event("mixed", "x", "first").id == 1
    assert [p.id for p in append_events(events("mixed", 2))] == [2, 3]
    assert upstream.append_event("mixed", "x", "last").id == 4
    assert [e.id for e in upstream.get_events("mixed", 0)] == [1, 2, 3, 4]


def test_rows_match_what_django_eventstream_writes() -> None:
    from django_eventstream.models import Event as Row
    from django_eventstream.storage import DjangoModelStorage

    DjangoModelStorage().append_event("up", "x", "<b>1</b>")
    append_events([Event("ours", "x", "<b>1</b>")])
    fields = ("eid", "type", "data")
    assert list(Row.objects.filter(channel="up").order_by("eid").values_list(*fields)) == list(
        Row.objects.filter(channel="ours").order_by("eid").values_list(*fields)
    )


def test_a_batch_costs_a_few_queries_not_several_per_event(monkeypatch: pytest.MonkeyPatch) -> None:
    from django.db import connection

    append_events(events("q", 1))  # the channel's counter exists from here on
    # no trim in this batch; monkeypatch puts the module's schedule back afterwards,
    # or no later test in this process would ever trim
    monkeypatch.setattr(retention, "_next_trim", 1e18)
    with CaptureQueriesContext(connection) as queries:
        append_events(events("q", 100))
    assert len(queries) <= 6
