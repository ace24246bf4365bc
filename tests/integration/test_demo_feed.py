from __future__ import annotations

import re
import signal
import time

import pytest

from dashboards_live.declaring.demo import Demo
from tests.support.sse import SSEClient
from tests.support.stack import Stack

pytestmark = pytest.mark.integration


def test_demo_feed_reaches_an_sse_client_through_pushpin(stack: Stack) -> None:
    with SSEClient(stack.url("/events/demo/")) as client:
        assert client.status == 200
        assert client.wait_for(lambda ev: any(e.event == "stream-open" for e in ev), 5)
        result = stack.manage("demo_feed", "--iterations", "3", "--interval", "0.2", "--seed", "7")
        assert result.returncode == 0, result.stderr
        client.wait_for(lambda ev: len([e for e in ev if e.id]) >= 3 * len(Demo.components), 10)
    stats, charts = client.named("sse_stat"), client.named("sse_chart")
    assert len(stats) == 3 and len(charts) == 3
    for event in stats:
        assert re.search(r'<div class="stat-text">\d{1,3}\.\d%</div>', event.data)
    # the chart is whole state: every event carries the window so far
    assert [e.data.count('<g class="series-0"><path d="M') for e in charts] == [1, 1, 1]
    # (a channel used before continues its stored window: a restarted feed goes on where it was)
    points = [int(re.search(r" over (\d+) points?\"", e.data).group(1)) for e in charts]  # type: ignore[union-attr]
    assert points == list(range(points[0], points[0] + 3)) or points[-1] == 60
    # ids come from storage and increase
    ids = [int(e.id.split(":")[1]) for e in stats + charts if e.id]
    assert len(ids) == 6 and len(set(ids)) == 6
    assert "Dashboard: " + stack.url("/dashboards/demo/") in result.stdout
    # every component of the demo dashboard, three ticks each
    feeds = len(Demo.components)
    assert f"{3 * feeds} events published" in result.stderr + result.stdout
    assert {e.event for e in client.events if e.id} == {c.key for c in Demo.components}


def test_same_seed_gives_the_same_values(stack: Stack) -> None:
    def values() -> list[str]:
        with SSEClient(stack.url("/events/seeded/")) as client:
            client.wait_for(lambda ev: any(e.event == "stream-open" for e in ev), 5)
            stack.manage(
                "demo_feed", "--iterations", "2", "--interval", "0.1", "--seed", "42", "--channel", "seeded", check=True
            )
            client.wait_for(lambda ev: len(client.named("sse_stat")) >= 2, 10)
            return [e.data for e in client.named("sse_stat")]

    assert values() == values()


def test_page_shows_the_last_stored_values_to_a_late_joiner(stack: Stack) -> None:
    import urllib.request

    stack.manage("demo_feed", "--iterations", "2", "--interval", "0.1", "--seed", "3", "--channel", "late", check=True)
    page = urllib.request.urlopen(stack.url("/demo/late/"), timeout=10).read().decode()
    assert 'sse-connect="/events/late/?lastEventId=late%3A' in page
    assert "Waiting for the first value" not in page
    assert page.count('class="stat-text"') == 2 and 'over 2 points"' in page


def test_page_shows_placeholders_when_nothing_was_sent(stack: Stack) -> None:
    import urllib.request

    page = urllib.request.urlopen(stack.url("/demo/never-used/"), timeout=10).read().decode()
    assert page.count("Waiting for the first value") == len(Demo.components)


def test_demo_feed_stops_cleanly_on_sigterm_and_sigint(stack: Stack) -> None:
    for sig in (signal.SIGTERM, signal.SIGINT):
        proc = stack.spawn("demo_feed", "--interval", "0.1", "--channel", "stopper")
        assert proc.stdout is not None
        assert proc.stdout.readline().startswith(b"Dashboard: ")
        time.sleep(0.5)
        began = time.monotonic()
        proc.send_signal(sig)
        assert proc.wait(5) == 0
        assert time.monotonic() - began < 2
        out = proc.stdout.read().decode()
        assert re.search(r"demo_feed: \d+ values, \d+ events published", out)


def test_demo_feed_without_pushpin_is_a_clear_error(stack: Stack) -> None:
    from tests.support.stack import free_port

    result = stack.manage(
        "demo_feed", "--iterations", "1", "--wait", "0.5", env={"GRIP_URL": f"http://127.0.0.1:{free_port()}?key=x"}
    )
    assert result.returncode == 1
    assert "Pushpin is not reachable" in result.stderr
    assert "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--interval", "0"], "positive"),
        (["--iterations", "0"], "at least 1"),
        (["--channel", "bad channel"], "invalid channel"),
    ],
)
def test_demo_feed_refuses_bad_options(stack: Stack, args: list[str], message: str) -> None:
    result = stack.manage("demo_feed", *args)
    assert result.returncode == 2
    assert message in result.stderr
    assert "Traceback" not in result.stderr
