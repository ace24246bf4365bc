"""A live region starts its stream after the newest event it could have rendered."""

from __future__ import annotations

import pytest
from django.test import Client

from dashboards_live.contract import make_event
from dashboards_live.publishing.storage import append_events
from dashboards_live.web.pages import events_url


def test_a_stream_with_nothing_stored_starts_from_the_next_event() -> None:
    assert events_url("demo") == "/events/demo/"


@pytest.mark.django_db
def test_the_page_stream_starts_after_the_newest_stored_event(client: Client) -> None:
    stored = append_events([make_event("demo", "memory", "<b>1</b>"), make_event("demo", "sse_stat", "<b>2</b>")])
    newest = max(p.id for p in stored if p.id is not None)
    page = client.get("/dashboards/demo/").content.decode()
    assert f'sse-connect="/events/demo/?lastEventId=demo%3A{newest}"' in page
