from __future__ import annotations

import io

from dashboards_live.running.loop import FeedStats
from dashboards_live.running.status import CLEAR_LINE, LiveLine, live_line, summary_line, totals


def stats() -> dict[str, FeedStats]:
    return {
        "cpu": FeedStats(ticks=10, events=9, failures=1, skipped=2, last_latency_ms=3.25),
        "queue": FeedStats(ticks=5, events=5),
    }


def test_totals_add_up_every_feed() -> None:
    assert totals(stats(), 1) == "2 feeds, 15 ticks, 14 events, 1 failures, 0 publish failures, 2 skipped, 1 pending"


def test_summary_line_names_each_feeds_counters() -> None:
    line = summary_line(stats(), 0, 60.2)
    assert line.startswith("status after 60 s: 2 feeds")
    assert "cpu ticks=10 events=9 failures=1 skipped=2 latency=3.2ms" in line
    assert "queue ticks=5 events=5 failures=0 skipped=0 latency=-" in line
    assert "\n" not in line


def test_live_line_fits_the_terminal() -> None:
    assert len(live_line(stats(), 0, 5, 40)) == 40
    assert live_line(stats(), 1, 5, 400) == (
        "[     5s] ticks 15 events 14 fail 1 skip 2 pending 1 | cpu 10/9/1/2 3.2ms | queue 5/5/0/0 -"
    )


def test_log_records_print_above_the_live_line() -> None:
    out = io.StringIO()
    live = LiveLine(out)
    live.show("status 1")
    live.write("a log record\n")
    live.show("status 2")
    live.clear()
    assert out.getvalue() == (f"{CLEAR_LINE}status 1{CLEAR_LINE}a log record\nstatus 1{CLEAR_LINE}status 2{CLEAR_LINE}")


def test_with_ha_the_lines_say_which_feeds_are_held() -> None:
    stats = {"queue": FeedStats(ticks=3, held=True), "rate": FeedStats(held=False, standby=3)}
    assert totals(stats, 0).startswith("2 feeds, holding 1 of 2, 3 ticks")
    line = summary_line(stats, 0, 10.0)
    assert "queue (held) ticks=3" in line and "rate (standby) ticks=0" in line
    assert "(held)" not in summary_line({"queue": FeedStats(ticks=3)}, 0, 10.0)
    assert "queue (held) 3/" in live_line(stats, 0, 10.0, 200)
