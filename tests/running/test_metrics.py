from __future__ import annotations

import urllib.request

import pytest
from prometheus_client import CollectorRegistry, generate_latest

from dashboards_live.declaring.components import Stat
from dashboards_live.declaring.feeds import make_feed
from dashboards_live.running.loop import EventLoop
from dashboards_live.running.metrics import LoopCollector, parse_addr, serve
from tests.support.fakes import sink
from tests.support.stack import free_port


def ran_loop() -> EventLoop:
    Stat("load").render("warm the template cache, so no tick runs late")
    loop = EventLoop([make_feed(lambda: 1, channel="ops", component=Stat("load"), every=0.05, name="load")], sink())
    loop.iterations = 3
    loop.run()
    return loop


def test_parse_addr() -> None:
    assert parse_addr("127.0.0.1:9100") == ("127.0.0.1", 9100)
    assert parse_addr("[::1]:9100") == ("::1", 9100)
    assert parse_addr("localhost:80") == ("localhost", 80)
    for bad in ("9100", ":9100", "127.0.0.1:", "127.0.0.1:99999", "127.0.0.1:http", "127.0.0.1:0"):
        with pytest.raises(ValueError, match="HOST:PORT"):
            parse_addr(bad)


def test_the_loops_counters_in_prometheus_text_format() -> None:
    loop = ran_loop()
    registry = CollectorRegistry()
    registry.register(LoopCollector(loop, 1700000000.0))
    text = generate_latest(registry).decode()
    labels = '{channel="ops",event="load",feed="load"}'
    assert f"dashboards_feed_ticks_total{labels} 3.0" in text
    assert f"dashboards_feed_events_total{labels} 3.0" in text
    assert f"dashboards_feed_failures_total{labels} 0.0" in text
    assert f"dashboards_feed_interval_seconds{labels} 0.05" in text
    assert f"dashboards_feed_last_publish_latency_seconds{labels} " in text
    assert "dashboards_loop_pending_events 0.0" in text
    assert "dashboards_loop_start_time_seconds 1.7e+09" in text


def test_serve_answers_on_its_address_and_stops() -> None:
    loop = ran_loop()
    port = free_port()
    stop = serve(("127.0.0.1", port), loop)
    try:
        body = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5).read().decode()
    finally:
        stop()
    assert "dashboards_feed_ticks_total" in body
    assert "process_cpu_seconds_total" in body
    with pytest.raises(OSError):
        urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=2)


def test_with_ha_the_metrics_say_which_feeds_this_process_holds() -> None:
    loop = ran_loop()
    registry = CollectorRegistry()
    registry.register(LoopCollector(loop, 1700000000.0))
    assert "dashboards_feed_held" not in generate_latest(registry).decode()  # without --ha: no such gauge
    [run] = loop.runs
    run.stats.held, run.stats.standby = True, 4
    text = generate_latest(registry).decode()
    labels = '{channel="ops",event="load",feed="load"}'
    assert f"dashboards_feed_held{labels} 1.0" in text
    assert f"dashboards_feed_standby_total{labels} 4.0" in text
