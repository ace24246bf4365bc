from __future__ import annotations

import io
import logging
import signal
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from dashboards_live.declaring.components import Stat
from dashboards_live.declaring.feeds import Feed, make_feed
from dashboards_live.running.loop import EventLoop
from dashboards_live.running.runner import Reporter, RunOptions, configure_logging, run_feeds
from dashboards_live.running.status import CLEAR_LINE, LiveLine
from dashboards_live.running.systemd import Notifier
from tests.support.fakes import sink


@pytest.fixture
def notify(tmp_path: Path) -> Iterator[tuple[socket.socket, dict[str, str]]]:
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(str(tmp_path / "notify"))
    sock.settimeout(0.2)
    try:
        yield sock, {"NOTIFY_SOCKET": str(tmp_path / "notify"), "WATCHDOG_USEC": "100000"}
    finally:
        sock.close()


@pytest.fixture(autouse=True)
def restore_logging() -> Iterator[None]:
    package = logging.getLogger("dashboards_live")
    level, handlers = package.level, list(package.handlers)
    streams = [getattr(h, "stream", None) for h in handlers]
    yield
    package.setLevel(level)
    for handler, stream in zip(handlers, streams, strict=True):
        if isinstance(handler, logging.StreamHandler) and stream is not None:
            handler.setStream(stream)


def received(sock: socket.socket) -> list[bytes]:
    out = []
    while True:
        try:
            out.append(sock.recv(4096))
        except TimeoutError:
            return out


def feeds() -> list[Feed]:
    return [make_feed(lambda: 1, channel="c", component=Stat("a"), every=0.02, name="a")]


def test_run_feeds_tells_systemd_ready_watchdog_status_and_stopping(
    notify: tuple[socket.socket, dict[str, str]],
) -> None:
    sock, env = notify
    summary = run_feeds(feeds(), sink(), RunOptions(duration=0.5, status_every=0, verbosity=0), notifier=Notifier(env))
    assert summary.ticks >= 20
    messages = received(sock)
    assert messages[0] == b"READY=1\nSTATUS=running 1 feed(s)"
    assert messages.count(b"WATCHDOG=1") >= 5  # every 50 ms for 0.5 s
    assert messages[-1].startswith(b"STOPPING=1\nSTATUS=stopping: 1 feed, ")


def test_run_feeds_puts_the_signal_handlers_back() -> None:
    signals = (signal.SIGTERM, signal.SIGINT, signal.SIGHUP)
    before = [signal.getsignal(s) for s in signals]
    run_feeds(feeds(), sink(), RunOptions(iterations=1, status_every=0, verbosity=0), notifier=Notifier({}))
    assert [signal.getsignal(s) for s in signals] == before


def test_sighup_is_a_clean_stop_with_a_log_line(caplog: pytest.LogCaptureFixture) -> None:
    from dashboards_live.running.runner import install_stop_handlers

    stops: list[bool] = []
    before = signal.getsignal(signal.SIGHUP)
    try:
        install_stop_handlers(lambda: stops.append(True))
        with caplog.at_level("WARNING", logger="dashboards_live"):
            signal.raise_signal(signal.SIGHUP)
    finally:
        for s in (signal.SIGTERM, signal.SIGINT):
            signal.signal(s, signal.default_int_handler if s == signal.SIGINT else signal.SIG_DFL)
        signal.signal(signal.SIGHUP, before)
    assert stops == [True]
    assert "SIGHUP" in caplog.text and "stopping cleanly" in caplog.text


def test_status_lines_go_to_the_log_at_their_interval(caplog: pytest.LogCaptureFixture) -> None:
    loop = EventLoop(feeds(), sink())
    reporter = Reporter(loop, Notifier({}), status_every=10, live=None, monotonic=lambda: 100.0)
    loop.started_at = 100.0
    with caplog.at_level("INFO", logger="dashboards_live.running.status"):
        for now in (105.0, 110.0, 115.0, 131.0, 135.0):
            reporter(now)
    lines = [r.getMessage() for r in caplog.records]
    # at 110, then 131 stands for the missed 120 and 130; the next is due at 140
    assert [line.split(":")[0] for line in lines] == ["status after 10 s", "status after 31 s"]
    assert "a ticks=0 events=0" in lines[0]


def test_on_a_terminal_a_live_line_is_redrawn_instead() -> None:
    out = io.StringIO()
    live = LiveLine(out)
    loop = EventLoop(feeds(), sink())
    reporter = Reporter(loop, Notifier({}), status_every=60, live=live, monotonic=lambda: 0.0)
    reporter(1.0)
    reporter(2.0)
    assert out.getvalue().count(CLEAR_LINE) == 2
    assert "ticks 0 events 0" in live.text and "| a 0/0/0/0 -" in live.text


@pytest.mark.parametrize(
    ("verbosity", "level"), [(0, logging.WARNING), (1, logging.INFO), (2, logging.DEBUG), (3, logging.DEBUG)]
)
def test_verbosity_sets_the_log_level(verbosity: int, level: int) -> None:
    configure_logging(verbosity, io.StringIO(), live=False)
    assert logging.getLogger("dashboards_live").level == level


def test_logs_have_timestamps_and_levels_and_print_above_the_live_line() -> None:
    out = io.StringIO()
    package = logging.getLogger("dashboards_live")
    saved = package.handlers
    package.handlers = []
    try:
        live = configure_logging(1, out, live=True)
        assert live is not None
        live.show("live status")
        logging.getLogger("dashboards_live.running.loop").warning("publish failed")
    finally:
        package.handlers = saved
    text = out.getvalue()
    assert "WARNING dashboards_live.running.loop: publish failed\nlive status" in text
    assert text.split(CLEAR_LINE)[2][:4].isdigit()  # the record starts with its timestamp
