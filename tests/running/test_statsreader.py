"""The stats reader: when the pages' copy is stored, what Prometheus is shown, reading a real ZMQ socket."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from prometheus_client import CollectorRegistry, generate_latest

from dashboards_live.errors import ConfigError
from dashboards_live.running import statsreader
from dashboards_live.running.statsreader import PushpinCollector, Snapshot, StatsReader
from dashboards_live.web import pushpin
from tests.running.test_pushpinstats import REPORT, SUB_A1, SUB_A3, SUB_B1, UNSUB_B
from tests.support.clock import SimClock

WALL = datetime(2026, 12, 5, 20, 0, tzinfo=UTC)


def reader(warmup: float = 0.0) -> tuple[StatsReader, SimClock, list[Snapshot]]:
    clock = SimClock()
    stored: list[Snapshot] = []
    return StatsReader(stored.append, warmup=warmup, clock=clock, wall=lambda: WALL), clock, stored


def test_a_change_is_stored_at_once_then_at_most_once_a_second() -> None:
    r, clock, stored = reader()
    r.take(SUB_A3)
    r.take(SUB_B1)
    assert r.tick() == Snapshot({"chanA": 3, "chanB": 1}, 0, WALL + timedelta(seconds=30))
    r.take(SUB_A1)
    assert r.tick() is None, "within a second of the last store"
    clock.advance(1.0)
    assert r.tick() == Snapshot({"chanA": 1, "chanB": 1}, 0, WALL + timedelta(seconds=30))
    clock.advance(1.0)
    assert r.tick() is None, "nothing changed and no report came"
    assert len(stored) == 2


def test_each_report_stores_again_and_sets_the_expiry_from_its_interval() -> None:
    r, clock, stored = reader()
    r.take(SUB_A3)
    r.tick()
    clock.advance(2.0)
    r.take(REPORT)
    # the report's interval is 2 s: what it says holds for three of them
    assert r.tick() == Snapshot({"chanA": 3}, 4, WALL + timedelta(seconds=6))
    assert len(stored) == 2


def test_nothing_is_stored_during_the_warmup() -> None:
    r, clock, stored = reader(warmup=20.0)
    r.take(SUB_A3)
    clock.advance(19.0)
    assert r.tick() is None and stored == []
    r.take(SUB_A3)  # Pushpin repeats the count
    clock.advance(1.0)
    assert r.tick() == Snapshot({"chanA": 3}, 0, WALL + timedelta(seconds=30))


def test_a_store_that_fails_is_tried_again() -> None:
    clock = SimClock()
    attempts: list[Snapshot] = []

    def store(snapshot: Snapshot) -> None:
        attempts.append(snapshot)
        if len(attempts) == 1:
            raise RuntimeError("database down")

    r = StatsReader(store, warmup=0, clock=clock, wall=lambda: WALL)
    r.take(SUB_A3)
    assert r.tick() is None
    clock.advance(1.0)
    assert r.tick() is not None
    assert len(attempts) == 2


def test_bad_messages_are_counted_not_fatal() -> None:
    r, _, _ = reader()
    r.take(b"sub Xnonsense")
    r.take(SUB_A3)
    assert r.bad == 1
    assert r.current() == ({"chanA": 3}, 0)


def metrics(r: StatsReader) -> str:
    registry = CollectorRegistry()
    registry.register(PushpinCollector(r))
    return generate_latest(registry).decode()


def test_the_metrics() -> None:
    r, _, _ = reader()
    for frame in (SUB_A3, SUB_B1, REPORT, REPORT, UNSUB_B):
        r.take(frame)
    text = metrics(r)
    assert "pushpin_connections 4.0" in text
    assert 'pushpin_channel_subscribers{channel="chanA"} 3.0' in text
    assert 'channel="chanB"' not in text
    assert "pushpin_messages_published_total 2.0" in text
    assert "pushpin_messages_delivered_total 6.0" in text
    assert "pushpin_connection_minutes_total 2.0" in text
    assert "pushpin_stats_last_report_timestamp_seconds " in text


def test_no_channel_is_exported_during_the_warmup() -> None:
    r, clock, _ = reader(warmup=20.0)
    r.take(SUB_A3)
    assert "pushpin_channel_subscribers{" not in metrics(r)
    clock.advance(20.0)
    r.take(SUB_A3)  # Pushpin repeats the count
    assert 'pushpin_channel_subscribers{channel="chanA"} 3.0' in metrics(r)


def test_the_default_warmup_is_the_shipped_subscription_ttl() -> None:
    assert statsreader.config_seconds(pushpin.shipped_template(), "stats_subscription_ttl") == 20.0
    assert statsreader.config_seconds(pushpin.shipped_template(), "no_such_key") is None


def test_run_reads_a_real_zmq_socket(tmp_path: Path) -> None:
    import zmq

    spec = f"ipc://{tmp_path}/stats"
    context: zmq.Context[zmq.Socket[bytes]] = zmq.Context.instance()
    publisher = context.socket(zmq.PUB)
    publisher.setsockopt(zmq.LINGER, 0)
    publisher.bind(spec)
    real = StatsReader(lambda s: None, warmup=0)
    done = threading.Event()
    thread = threading.Thread(target=lambda: statsreader.run([spec], real, done.is_set, poll=0.05))
    thread.start()
    try:
        # a PUB drops what it sends before the subscriber is connected: repeat, as Pushpin does
        for _ in range(200):
            publisher.send(SUB_A3)
            if real.current()[0] == {"chanA": 3}:
                break
            threading.Event().wait(0.02)
        assert real.current()[0] == {"chanA": 3}
    finally:
        done.set()
        thread.join(5)
        publisher.close()


def test_a_spec_zmq_refuses_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="--stats-spec"):
        statsreader.run(["nonsense"], StatsReader(lambda s: None, warmup=0), lambda: True)


def test_silence_is_logged_once(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    clock = SimClock()
    quiet = StatsReader(lambda s: None, warmup=0, clock=clock)
    calls = iter(range(4))

    def should_stop() -> bool:
        clock.advance(40.0)  # each pass of the loop: 40 s of nothing from the socket
        return next(calls) == 3

    statsreader.run([f"ipc://{tmp_path}/nobody"], quiet, should_stop, poll=0.01)
    warnings = [r.getMessage() for r in caplog.records if "nothing from" in r.getMessage()]
    assert len(warnings) == 1 and f"ipc://{tmp_path}/nobody" in warnings[0]
