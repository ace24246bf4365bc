"""The delivery engine's fail-fast policy (sendevent, push) with a fake store and a fake Pushpin."""

from __future__ import annotations

import pytest

from dashboards_live.contract import Event, InvalidEvent
from dashboards_live.errors import PublishError
from dashboards_live.publishing.delivery import DeliveryEngine
from dashboards_live.publishing.encoding import MAX_ITEMS_PER_POST, browser_event_id
from tests.support.clock import SimClock
from tests.support.fakes import FakeStore, FakeTransport


def engine(stored: bool = True) -> tuple[DeliveryEngine, FakeStore, FakeTransport, SimClock]:
    clock = SimClock()
    store, pushpin = FakeStore(stored), FakeTransport(clock)
    return DeliveryEngine(store, pushpin, clock=clock), store, pushpin, clock


def events(n: int, channel: str = "c") -> list[Event]:
    return [Event(channel, f"e{i}", f"<p>{i} 100%</p>") for i in range(n)]


def test_publish_stores_then_posts_and_returns_the_ids() -> None:
    e, store, pushpin, _ = engine()
    published = e.publish(events(3))
    assert [p.id for p in published] == [1, 2, 3]
    assert pushpin.events == [(f"e{i}", f"<p>{i} 100%</p>") for i in range(3)]
    assert [item["id"] for item in pushpin.bodies[0]] == ["1", "2", "3"]
    assert store.withdrawn == []


def test_a_failed_publish_withdraws_everything_it_stored() -> None:
    e, store, pushpin, _ = engine()
    pushpin.down = True
    with pytest.raises(PublishError) as info:
        e.publish(events(2))
    assert store.withdrawn == store.appended and len(store.withdrawn) == 2
    assert info.value.undelivered == store.appended


def test_one_batching_rule_and_only_the_requests_no_pushpin_took_are_withdrawn() -> None:
    e, store, pushpin, _ = engine()
    pushpin.fail = lambda attempt: attempt == 2
    n = 2 * MAX_ITEMS_PER_POST + 20
    with pytest.raises(PublishError):
        e.publish(events(n))
    assert [len(b) for b in pushpin.bodies] == [MAX_ITEMS_PER_POST]
    assert [p.id for p in store.withdrawn] == list(range(MAX_ITEMS_PER_POST + 1, n + 1))


def test_a_request_another_pushpin_took_is_kept() -> None:
    e, store, pushpin, _ = engine()

    def partial(body: bytes, deadline: float) -> None:
        error = PublishError("one of two refused (test)")
        error.partial = True
        raise error

    pushpin.post = partial  # type: ignore[method-assign]
    with pytest.raises(PublishError):
        e.publish(events(3))
    assert store.withdrawn == []  # its subscribers have them


def test_an_interrupted_publish_withdraws_what_it_stored() -> None:
    e, store, pushpin, _ = engine()

    def interrupted(body: bytes, deadline: float) -> None:
        raise KeyboardInterrupt

    pushpin.post = interrupted  # type: ignore[method-assign]
    with pytest.raises(KeyboardInterrupt):
        e.publish(events(1))
    assert store.withdrawn == store.appended


def test_the_timeout_bounds_the_whole_publish() -> None:
    e, _, pushpin, _ = engine()
    e.publish(events(1))
    e.publish(events(1), timeout=0.25)
    assert pushpin.timeouts == [pytest.approx(5.0), pytest.approx(0.25)]


def test_an_event_pushpin_would_refuse_is_refused_before_anything_is_stored(settings) -> None:
    settings.DASHBOARDS_MAX_DATA_BYTES = 2_000_000
    e, store, pushpin, _ = engine()
    with pytest.raises(InvalidEvent) as info:
        e.publish([Event("c", "small", "x"), Event("c", "big", "\n" * 200_000)])
    assert info.value.rule == "pushpin-size"
    assert store.appended == [] and pushpin.attempts == 0


def test_a_failed_store_posts_nothing() -> None:
    e, store, pushpin, _ = engine()
    store.down = True
    with pytest.raises(PublishError, match="could not store"):
        e.publish(events(1))
    assert pushpin.attempts == 0


def test_preview_carries_the_id_the_event_would_get() -> None:
    e, _, pushpin, _ = engine()
    e.publish(events(1))
    frame = e.preview(Event("c", "e", "a\nb"))
    assert frame == f"event: e\nid: {browser_event_id('c', 2)}\ndata: a\ndata: b\n\n"
    assert len(pushpin.bodies) == 1  # nothing sent


def test_preview_of_an_unstored_channel_has_no_id() -> None:
    e, _, _, _ = engine(stored=False)
    assert e.preview(Event("c", "e", "x")) == "event: e\ndata: x\n\n"


def test_kicks_and_pings_go_through_the_same_transport() -> None:
    e, _, pushpin, _ = engine()
    e.end_streams("7", "access-staff", "Staff status removed.")
    assert pushpin.kicks == [("7", "access-staff", "Staff status removed.")]
    pushpin.down = True
    with pytest.raises(PublishError):
        e.ping()
