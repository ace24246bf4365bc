from __future__ import annotations

import pytest
from django.test import override_settings
from django.test.utils import CaptureQueriesContext
from django_eventstream.storage import EventDoesNotExist

from dashboards_live.conf import replay_max_events
from dashboards_live.contract import Event
from dashboards_live.errors import ConfigError
from dashboards_live.publishing.storage import Storage
from dashboards_live.publishing.storage.append import append_events
from dashboards_live.publishing.storage.replay import compacting

pytestmark = pytest.mark.django_db(transaction=True)


def whole(channel: str, name: str, data: str) -> Event:
    return Event(channel, name, data, whole_state=True)


def log(channel: str, name: str, data: str) -> Event:
    return Event(channel, name, data, whole_state=False)


def replayed(channel: str, last_id: int, limit: int = 100) -> list[tuple[int, str, str]]:
    return [(e.id, e.type, e.data) for e in Storage().get_events(channel, last_id, limit=limit)]


def test_a_client_500_events_behind_on_5_components_gets_the_newest_of_each_in_id_order() -> None:
    append_events([whole("c", f"k{i % 5}", f"v{i}") for i in range(500)])
    assert replayed("c", 0) == [(496 + i, f"k{(495 + i) % 5}", f"v{495 + i}") for i in range(5)]
    # the last replayed id is the channel's newest: the client resumes from there
    assert replayed("c", 0)[-1][0] == Storage().get_current_id("c") == 500


def test_pushpin_recovering_a_gap_gets_every_event_it_missed() -> None:
    append_events([whole("c", "k", f"v{i}") for i in range(1, 6)])
    with compacting(False):
        assert replayed("c", 2) == [(3, "k", "v3"), (4, "k", "v4"), (5, "k", "v5")]
    assert replayed("c", 2) == [(5, "k", "v5")]


def test_only_what_came_after_the_id_is_replayed() -> None:
    append_events([whole("c", "a", "a1"), whole("c", "b", "b1"), whole("c", "a", "a2")])
    assert replayed("c", 2) == [(3, "a", "a2")]
    assert replayed("c", 1) == [(2, "b", "b1"), (3, "a", "a2")]
    assert replayed("c", 3) == []


def test_logs_and_undeclared_names_replay_in_full_in_order_among_the_compacted() -> None:
    append_events(
        [
            whole("c", "stat", "s1"),
            log("c", "lines", "l1"),
            Event("c", "raw", "r1"),  # a name no component declared (send_event's)
            whole("c", "stat", "s2"),
            log("c", "lines", "l2"),
            Event("c", "raw", "r2"),
        ]
    )
    assert replayed("c", 0) == [
        (2, "lines", "l1"),
        (3, "raw", "r1"),
        (4, "stat", "s2"),
        (5, "lines", "l2"),
        (6, "raw", "r2"),
    ]


def test_a_name_once_declared_whole_state_stays_so_for_events_that_do_not_say() -> None:
    # push() declares the component; send_event on the same name says nothing
    append_events([whole("c", "stat", "s1"), Event("c", "stat", "s2"), Event("c", "stat", "s3")])
    assert replayed("c", 0) == [(3, "stat", "s3")]


def test_a_declaration_that_changes_is_followed() -> None:
    append_events([whole("c", "feed", "f1"), whole("c", "feed", "f2")])
    append_events([log("c", "feed", "f3")])
    assert [d for _, _, d in replayed("c", 0)] == ["f1", "f2", "f3"]


@override_settings(DASHBOARDS_REPLAY_MAX_EVENTS=3)
def test_events_that_are_not_whole_state_replay_within_the_bound_newest_kept() -> None:
    append_events([log("c", "a" if i % 2 else "b", f"l{i}") for i in range(10)] + [whole("c", "stat", "s")])
    assert replayed("c", 0) == [(8, "a", "l7"), (9, "b", "l8"), (10, "a", "l9"), (11, "stat", "s")]
    # a client inside the bound gets what it missed, no more
    assert replayed("c", 9) == [(10, "a", "l9"), (11, "stat", "s")]


def test_pages_read_from_each_pages_last_id_make_up_the_same_replay() -> None:
    append_events(
        [whole("c", f"k{i % 7}", f"v{i}") for i in range(70)] + [log("c", "lines", f"l{i}") for i in range(4)]
    )
    whole_replay = replayed("c", 0)
    pages, last = [], 0
    while page := replayed("c", last, limit=3):  # as django-eventstream pages, 3 at a time
        pages += page
        last = page[-1][0]
    assert pages == whole_replay and len(whole_replay) == 11


def test_an_id_not_stored_resets_the_client_as_django_eventstream_does() -> None:
    append_events([whole("c", "a", "a1"), whole("c", "a", "a2")])
    with pytest.raises(EventDoesNotExist) as raised:
        Storage().get_events("c", 7)
    assert raised.value.current_id == 2
    assert replayed("c", 2) == []


def test_the_replay_reads_a_fixed_number_of_statements_whatever_the_history() -> None:
    from django.db import connection

    def statements(events: int) -> int:
        channel = f"h{events}"
        append_events([whole(channel, f"k{i % 5}", "v") for i in range(events)] + [log(channel, "lines", "l")])
        with CaptureQueriesContext(connection) as queries:
            assert len(replayed(channel, 0)) == 6
        return len(queries)

    assert statements(10) == statements(3000) <= 6


def test_the_bound_is_a_checked_setting() -> None:
    assert replay_max_events() == 100
    with (
        override_settings(DASHBOARDS_REPLAY_MAX_EVENTS=0),
        pytest.raises(ConfigError, match="DASHBOARDS_REPLAY_MAX_EVENTS"),
    ):
        replay_max_events()
