"""A live region starts its stream after the newest event it could have rendered."""

from __future__ import annotations

import pytest
from django.test import Client

from dashboards_live.contract import make_event
from dashboards_live.declaring.components import Stat
from dashboards_live.declaring.demo import Demo
from dashboards_live.publishing.storage import append_events
from dashboards_live.web.pages import events_url, overdue_after


def test_a_stream_with_nothing_stored_starts_from_the_placeholder_its_first_event_stores() -> None:
    # whatever is published between the page and its stream is replayed from id 0
    assert events_url("demo") == "/events/demo/?lastEventId=demo%3A0"


@pytest.mark.django_db
def test_the_page_stream_starts_after_the_newest_stored_event(client: Client) -> None:
    stored = append_events([make_event("demo", "memory", "<b>1</b>"), make_event("demo", "sse_stat", "<b>2</b>")])
    newest = max(p.id for p in stored if p.id is not None)
    page = client.get("/dashboards/demo/").content.decode()
    assert f'sse-connect="/events/demo/?lastEventId=demo%3A{newest}"' in page


def test_a_fed_component_is_overdue_half_an_interval_after_its_feed_s_every() -> None:
    assert overdue_after(Demo.sse_stat) == 1.5  # every=1.0, and at least half a second more


def test_stale_after_wins_and_a_component_without_either_is_never_stale() -> None:
    assert overdue_after(Stat("pushed", stale_after=120)) == 120
    assert overdue_after(Stat("pushed")) is None


@pytest.mark.django_db
def test_the_page_tells_each_slot_when_its_value_is_overdue(client: Client) -> None:
    append_events([make_event("demo", "sse_stat", "<b>2</b>")])
    page = client.get("/dashboards/demo/").content.decode()
    assert 'id="sse_stat" sse-swap="sse_stat"' in page
    assert page.count('data-stale-after="1.5"') == len(Demo.components)
    assert page.count("data-age=") == 1
