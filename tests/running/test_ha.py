"""Leases (--ha) against a stand-in lock server, and the loop's gate, in simulated time."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pytest

from dashboards_live.declaring.components import Stat
from dashboards_live.declaring.feeds import Feed, make_feed
from dashboards_live.publishing.delivery import DeliveryEngine
from dashboards_live.running import ha
from dashboards_live.running.loop import EventLoop
from tests.support.clock import SimClock
from tests.support.fakes import FakeStore, FakeTransport


class LockServer:
    """PostgreSQL's advisory locks as the leases use them: per session, gone with the session."""

    def __init__(self) -> None:
        self.owner: dict[int, FakeSession] = {}
        self.down = False

    def connect(self) -> FakeSession:
        if self.down:
            raise ConnectionError("connection refused")
        return FakeSession(self)


class FakeSession:
    def __init__(self, server: LockServer) -> None:
        self.server = server
        self.alive = True
        self.rows: list[tuple[Any, ...]] = []

    def cut(self) -> None:
        """The server ends the session (pg_terminate_backend, idle_session_timeout): its locks go."""
        self.alive = False
        self.server.owner = {k: s for k, s in self.server.owner.items() if s is not self}

    def execute(self, query: str, params: Sequence[Any] = ()) -> FakeSession:
        if not self.alive or self.server.down:
            raise ConnectionError("server closed the connection unexpectedly")
        if "pg_try_advisory_lock" in query:
            _, keys = params
            self.rows = [(self.server.owner.setdefault(k, self) is self,) for k in keys]
        elif "pg_advisory_unlock_all" in query:
            self.cut()
            self.alive = True
        else:
            self.rows = [(1,)]
        return self

    def fetchall(self) -> list[tuple[Any, ...]]:
        return self.rows

    def close(self) -> None:
        self.cut()


def feed(name: str, values: list[int] | None = None) -> Feed:
    produced = values if values is not None else []
    return make_feed(lambda: len(produced), channel="ops", component=Stat(name), every=1.0, name=name)


def test_the_first_session_takes_a_lease_and_a_second_stands_by() -> None:
    server, now = LockServer(), [0.0]
    feeds = [feed("queue")]
    a = ha.Leases.for_feeds(feeds, server.connect, lease=5)
    b = ha.Leases.for_feeds(feeds, server.connect, lease=5)
    a.clock = b.clock = lambda: now[0]
    a.refresh()
    b.refresh()
    assert a.holds(feeds[0]) and not b.holds(feeds[0])
    assert a.held() == ["queue@ops"] and b.held() == []


def test_when_the_holder_goes_the_standby_takes_over_at_its_next_refresh() -> None:
    server, now = LockServer(), [0.0]
    feeds = [feed("queue")]
    a = ha.Leases.for_feeds(feeds, server.connect, lease=5)
    b = ha.Leases.for_feeds(feeds, server.connect, lease=5)
    a.clock = b.clock = lambda: now[0]
    a.refresh()
    b.refresh()
    assert a.session is not None
    a.session.cut()  # type: ignore[attr-defined]  # SIGKILL: the session closes, PostgreSQL frees the locks
    b.refresh()
    assert b.holds(feeds[0])
    # the old holder learns it at its next round trip, before publishing anything
    assert a.confirm() is False and not a.holds(feeds[0])


def test_a_lease_not_confirmed_within_half_the_lease_is_not_held() -> None:
    server, now = LockServer(), [0.0]
    feeds = [feed("queue")]
    a = ha.Leases.for_feeds(feeds, server.connect, lease=4)
    a.clock = lambda: now[0]
    a.refresh()
    now[0] = 1.9
    assert a.holds(feeds[0])
    now[0] = 2.1  # the lease thread is stuck (network gone quiet): stop publishing on our own
    assert not a.holds(feeds[0])


def test_a_database_that_is_down_is_retried_and_nothing_is_held_meanwhile() -> None:
    server = LockServer()
    server.down = True
    a = ha.Leases.for_feeds([feed("queue")], server.connect, lease=5)
    a.refresh()
    assert a.held() == [] and a.failures == 1
    server.down = False
    a.refresh()
    assert a.held() == ["queue@ops"] and a.failures == 0


def test_release_hands_the_feeds_to_the_standby() -> None:
    server = LockServer()
    feeds = [feed("queue")]
    a = ha.Leases.for_feeds(feeds, server.connect, lease=5)
    b = ha.Leases.for_feeds(feeds, server.connect, lease=5)
    a.refresh()
    a.release()
    b.refresh()
    assert b.held() == ["queue@ops"]


def test_lock_keys_are_stable_signed_int4_and_collisions_are_found() -> None:
    assert ha.lock_key("queue@ops") == ha.lock_key("queue@ops")
    assert all(-(2**31) <= ha.lock_key(f"f{i}@c") < 2**31 for i in range(1000))
    assert ha.lock_key("queue@ops") != ha.lock_key("queue@sales")
    assert ha.colliding(["a@c", "b@c", "a@c"]) == []
    # CRC-32 collides for these two (found by search): --ha refuses to run them together
    assert ha.lock_key("feed8893329@ops") == ha.lock_key("feed24660002@ops")
    assert ha.colliding(["feed8893329@ops", "x@ops", "feed24660002@ops"]) == [("feed8893329@ops", "feed24660002@ops")]


# -- the loop's gate ------------------------------------------------------------


class Gate:
    def __init__(self) -> None:
        self.held: set[str] = set()
        self.confirms = 0
        self.alive = True

    def holds(self, f: Feed) -> bool:
        return f.name in self.held

    def confirm(self) -> bool:
        self.confirms += 1
        return self.alive


def run(
    clock: SimClock, gate: Gate, feeds: list[Feed], seconds: float, **options: Any
) -> tuple[EventLoop, FakeTransport]:
    pushpin = FakeTransport(clock)
    engine = DeliveryEngine(FakeStore(), pushpin, clock=clock)
    loop = EventLoop(feeds, engine, duration=seconds, threaded=False, gate=gate, **options)
    loop.run()
    return loop, pushpin


def test_only_held_feeds_run_and_the_others_count_standby_ticks() -> None:
    clock, gate = SimClock(), Gate()
    gate.held = {"a"}
    loop, pushpin = run(clock, gate, [feed("a"), feed("b")], 5.0)
    assert loop.stats["a"].ticks == 5 and loop.stats["a"].held is True
    assert loop.stats["b"].ticks == 0 and loop.stats["b"].standby == 5 and loop.stats["b"].held is False
    assert {name for name, _ in pushpin.events} == {"a"}
    assert gate.confirms == 5  # one round trip per tick that publishes


def test_a_takeover_runs_from_the_next_tick_and_starts_from_the_stored_state() -> None:
    clock, gate = SimClock(), Gate()
    states: list[str] = []

    def initial(f: Feed) -> Any:
        states.append(f.name)
        return None

    clock.after(2.5, lambda: gate.held.add("a"))
    loop, _pushpin = run(clock, gate, [feed("a")], 5.0, initial_state=initial)
    assert loop.stats["a"].standby == 3 and loop.stats["a"].ticks == 2
    assert states == ["a"]  # once, when taken over


def test_a_lease_lost_before_the_tick_publishes_nothing() -> None:
    clock, gate = SimClock(), Gate()
    gate.held = {"a"}
    clock.after(2.5, lambda: setattr(gate, "alive", False))
    loop, _pushpin = run(clock, gate, [feed("a")], 5.0)
    assert loop.stats["a"].ticks == 3 and loop.stats["a"].standby == 2
    assert loop.stats["a"].held is False


def test_phase_puts_ticks_on_a_grid_shared_by_every_host() -> None:
    clock, gate = SimClock(start=1000.0), Gate()
    gate.held = {"a"}
    ticks: list[float] = []
    _loop, _ = run(
        clock, gate, [feed("a")], 3.0, phase=lambda f: 0.25, on_tick=lambda f, due, now, began: ticks.append(due)
    )
    assert ticks == [1000.75, 1001.75, 1002.75]


@pytest.mark.django_db
def test_ha_needs_postgresql() -> None:
    with pytest.raises(ha.NotPostgres, match="--ha needs PostgreSQL"):
        ha.connector(5.0)
