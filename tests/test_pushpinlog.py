"""Counting Pushpin's own requests to Django from its log (tests and bench/fanout.py rely on it)."""

from __future__ import annotations

from pathlib import Path

from tests.support import pushpinlog
from tests.support.pushpinlog import HandlerRequests

# lines as Pushpin 1.36 writes them (shortened): one refresh request answering three held streams
LOG = b"""\
[INFO] 2026-12-03 20:00:18.107 [zurl] IN id=5fd1, GET http://h:1/events/crashtest/
[INFO] 2026-12-03 20:00:18.116 [handler] subscribe http://h:1/events/crashtest/ channel=events-crashtest
[INFO] 2026-12-03 20:00:18.119 [proxy] GET http://h:1/events/crashtest/ -> 127.0.0.1:35665 accept
[INFO] 2026-12-03 20:00:19.175 [zurl] IN id=9b5c, GET http://h:1/events/crashtest/?link=next&recover=true&es-meta=x
[INFO] 2026-12-03 20:00:19.221 [handler] GET http://h:1/events/crashtest/?link=next&recover=true&es-meta=x code=200 0
[INFO] 2026-12-03 20:00:19.221 [handler] GET http://h:1/events/crashtest/?link=next&recover=true&es-meta=x code=200 0
[INFO] 2026-12-03 20:00:19.221 [handler] GET http://h:1/events/crashtest/?link=next&recover=true&es-meta=x code=200 0
[INFO] 2026-12-03 20:00:19.967 [handler] publish channel=events-crashtest receivers=3
[INFO] 2026-12-03 20:00:20.100 [zurl] IN id=aa01, GET http://h:1/events/other/?link=next&es-meta=y
[INFO] 2026-12-03 20:00:20.120 [handler] GET http://h:1/events/other/?link=next&es-meta=y code=200 0
"""


def test_one_request_that_answers_three_streams_counts_once() -> None:
    lines = LOG.splitlines()
    assert pushpinlog.count(lines, b"/events/crashtest/") == HandlerRequests(requests=1, streams=3)
    # the client's own connect (no link=next) is not Pushpin's request
    assert pushpinlog.count(lines) == HandlerRequests(requests=2, streams=4)


def test_logs_add_up_and_a_missing_one_counts_nothing(tmp_path: Path) -> None:
    (tmp_path / "a.log").write_bytes(LOG)
    (tmp_path / "b.log").write_bytes(LOG)
    total = pushpinlog.read([tmp_path / "a.log", tmp_path / "b.log", tmp_path / "gone.log"], "/events/other/")
    assert total == HandlerRequests(2, 2)
    assert total - HandlerRequests(1, 1) == HandlerRequests(1, 1)
