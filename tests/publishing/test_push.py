from __future__ import annotations

from collections.abc import Iterator

import pytest

from dashboards_live.contract import InvalidEvent
from dashboards_live.declaring.components import Chart, InvalidValue, Stat
from dashboards_live.declaring.dashboards import Dashboard, registry
from dashboards_live.errors import PublishError
from dashboards_live.publishing.push import NotOnADashboard, push, push_many, render_all
from tests.support.fakes import FakeStore, FakeTransport, fake_engine

pytestmark = pytest.mark.django_db


@pytest.fixture
def ops() -> Iterator[type[Dashboard]]:
    with registry.scoped():

        class Ops(Dashboard):
            channel = "ops-push"
            queue = Stat(title="Jobs waiting", warn=100, critical=1000)
            rate = Chart(title="Jobs", window=3, series=["done", "failed"])

        yield Ops


def test_push_renders_with_the_declared_component_and_delivers(ops: type[Dashboard]) -> None:
    engine = fake_engine(stored=True)
    published = push(ops.queue, 250, engine=engine)  # type: ignore[attr-defined]
    assert published.id == 1
    [(name, data)] = engine.transport.events  # type: ignore[attr-defined]
    assert name == "queue"
    assert data == ops.queue.render(ops.queue.next_state(None, 250, 0))  # type: ignore[attr-defined]
    assert "stat-level-warn" in data


def test_push_many_is_one_delivery(ops: type[Dashboard]) -> None:
    engine = fake_engine(stored=True)
    out = push_many([(ops.queue, 1), (ops.rate, {"done": 3, "failed": 0})], engine=engine)  # type: ignore[attr-defined]
    assert [p.event.name for p in out] == ["queue", "rate"]
    assert len(engine.transport.bodies) == 1  # type: ignore[attr-defined]


def test_a_bad_value_raises_and_publishes_nothing(ops: type[Dashboard]) -> None:
    engine = fake_engine(stored=True)
    with pytest.raises(InvalidValue):
        push_many([(ops.queue, 1), (ops.rate, {"nope": 1})], engine=engine)  # type: ignore[attr-defined]
    assert engine.store.appended == []  # type: ignore[attr-defined]
    assert engine.transport.bodies == []  # type: ignore[attr-defined]


def test_too_big_a_value_is_an_invalid_event(ops: type[Dashboard], settings: object) -> None:
    settings.DASHBOARDS_MAX_DATA_BYTES = 200  # type: ignore[attr-defined]
    with pytest.raises(InvalidEvent):
        push(ops.queue, "x" * 500, engine=fake_engine())  # type: ignore[attr-defined]


def test_a_failed_delivery_raises_and_keeps_nothing(ops: type[Dashboard]) -> None:
    store, transport = FakeStore(stored=True), FakeTransport()
    transport.down = True
    from dashboards_live.publishing.delivery import DeliveryEngine

    with pytest.raises(PublishError):
        push(ops.queue, 1, engine=DeliveryEngine(store, transport))  # type: ignore[attr-defined]
    assert [p.id for p in store.withdrawn] == [1]


def test_a_component_on_no_dashboard_is_refused() -> None:
    with pytest.raises(NotOnADashboard, match="not declared on a Dashboard"):
        push(Stat("loose"), 1, engine=fake_engine())


def test_values_for_one_component_fold_into_one_event_with_all_of_them(ops: type[Dashboard]) -> None:
    values = [(ops.rate, {"done": 1}), (ops.queue, 5), (ops.rate, {"done": 2}), (ops.queue, 7)]  # type: ignore[attr-defined]
    events = render_all(values, at=100.0)
    assert [e.name for e in events] == ["rate", "queue"]
    assert ops.rate.restore(events[0].state)["s"]["done"] == [1.0, 2.0]  # type: ignore[attr-defined]
    assert '<div class="stat-text">7</div>' in events[1].data


def test_a_chart_builds_on_the_last_stored_state(ops: type[Dashboard]) -> None:
    from dashboards_live.publishing.delivery import DeliveryEngine
    from dashboards_live.publishing.storage import EventStore

    # the real store: what another process stored is what the next push builds on
    engine = DeliveryEngine(EventStore(), FakeTransport())
    for done in (1, 2, 3, 4):
        push(ops.rate, {"done": done, "failed": 0}, engine=engine, at=float(done))  # type: ignore[attr-defined]
    from dashboards_live.publishing.storage import last_states

    state = ops.rate.restore(last_states("ops-push", ["rate"])["rate"])  # type: ignore[attr-defined]
    assert state["s"]["done"] == [2.0, 3.0, 4.0]  # window of 3
    assert state["t"] == [2.0, 3.0, 4.0]
