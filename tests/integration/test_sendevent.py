"""sendevent end to end: real Pushpin, real gunicorn, a real SSE client over real sockets.

The property tests run the command in this process (call_command) on the
stack's own database, so ids agree with its web process, and check every
generated case against the SSE client: over a thousand cases in a few seconds.
Fewer cases run `manage.py sendevent` as a real process: arguments, standard
input, files, exit codes and stderr exactly as a shell sees them.
"""

from __future__ import annotations

import io
import json
import queue
import re
import signal
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from unittest import mock

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import override_settings
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from dashboards_live.contract import CHANNEL_RE, EVENT_RE, RESERVED_EVENTS
from dashboards_live.declaring.components import Chart, Stat
from dashboards_live.declaring.demo import CHART, STAT
from dashboards_live.publishing.oneoff import INPUT_FACTOR
from tests.support.sse import SSEClient, SSEEvent
from tests.support.stack import PYTHON, ROOT, Stack, free_port

pytestmark = pytest.mark.integration

QUIET = {"chatter", "keep-alive", "stream-open"}
PROPERTY = settings(
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much],
)
# a process per case: report the failing case as generated rather than spend minutes shrinking it
PROCESS_PROPERTY = settings(PROPERTY, phases=[Phase.explicit, Phase.generate])

# -- the SSE side -----------------------------------------------------------------


def listen(stack: Stack, channel: str) -> SSEClient:
    client = SSEClient(stack.url(f"/events/{channel}/"))
    assert client.status == 200, getattr(client, "body", b"")
    assert client.wait_for(lambda evs: any(e.event == "stream-open" for e in evs), 5)
    return client


def next_event(client: SSEClient, timeout: float = 5.0) -> SSEEvent:
    """The next event published by someone (Pushpin's keep-alives and the opening aside)."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            item = client.queue.get(timeout=max(deadline - time.monotonic(), 0.01))
        except queue.Empty:
            raise AssertionError("no event arrived") from None
        if item is None:
            raise AssertionError("the stream closed")
        if item.event not in QUIET:
            return item


@pytest.fixture
def listener(on_stack: Stack) -> Iterator[SSEClient]:
    client = listen(on_stack, "prop")
    try:
        yield client
    finally:
        client.close()


# -- the command, in this process ---------------------------------------------------


def command(*args: str, stdin: bytes = b"") -> str:
    out = io.StringIO()
    with mock.patch("sys.stdin", io.TextIOWrapper(io.BytesIO(stdin))):
        call_command("sendevent", *args, stdout=out, stderr=io.StringIO())
    return out.getvalue()


def stored_total() -> int:
    from django_eventstream.models import Event

    return int(Event.objects.count())


def stored_id(line: str) -> int:
    match = re.fullmatch(r"Published '[^']+' on '[^']+' \(id (\d+)\) in \d+ ms\.\n", line)
    assert match, line
    return int(match.group(1))


SENTINEL = 0


def send_sentinel(client: SSEClient, channel: str = "prop") -> None:
    """Publish a marker; the client's next event must be it (Pushpin keeps order)."""
    global SENTINEL
    SENTINEL += 1
    command(channel, "sentinel", f"sentinel {SENTINEL}")
    received = next_event(client)
    assert (received.event, received.data) == ("sentinel", f"sentinel {SENTINEL}"), received


# -- strategies ---------------------------------------------------------------------

# text that stresses SSE framing and Pushpin's build-id escaping, plus anything else
TRICKY = ["\n", "\n\n", "\t", '"', "'", "%", "%I", "%%", "data: ", "event: x", "id: 1", ": ", " ", "\u2028", "\x85"]
TRICKY += ["ü", "🚀", "<b>&amp;</b>", "\x1b[1m", "\x7f", "{}", "\\"]
legal_chars = st.characters(exclude_categories=["Cs"], exclude_characters="\x00\r")
text_data = st.one_of(
    st.text(legal_chars, max_size=300),
    st.lists(st.one_of(st.sampled_from(TRICKY), st.text(legal_chars, max_size=5)), max_size=40).map("".join),
)
event_names = st.from_regex(EVENT_RE, fullmatch=True).filter(lambda n: n not in RESERVED_EVENTS)
channels = st.from_regex(CHANNEL_RE, fullmatch=True)
FEED_EVENTS = {STAT.key, CHART.key}
json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(st.characters(exclude_categories=["Cs"]), max_size=30),
    lambda inner: st.lists(inner, max_size=5) | st.dictionaries(st.text(legal_chars, max_size=8), inner, max_size=5),
    max_leaves=20,
)
finite = st.floats(allow_nan=False, allow_infinity=False, min_value=-1e9, max_value=1e9)
stat_values = st.one_of(
    st.text(legal_chars, max_size=40),
    finite,
    st.fixed_dictionaries(
        {"text": st.one_of(st.text(legal_chars, max_size=40), st.integers())},
        optional={"sub_text": st.text(legal_chars, max_size=40), "change": st.one_of(st.none(), finite)},
    ),
)


@dataclass(frozen=True)
class Case:
    event: str
    options: tuple[str, ...]
    stdin: bytes
    expected: str  # the data a browser must receive


@st.composite
def valid_cases(draw: st.DrawFn) -> Case:
    mode = draw(st.sampled_from(["text", "text", "text", "json", "stat", "chart"]))
    # the demo feeds' events render with their feed's component (covered in test_oneoff)
    event = draw(event_names.filter(lambda n: mode in ("text", "json") or n not in FEED_EVENTS))
    if mode == "text":
        data = draw(text_data)
        return Case(event, (), data.encode(), data)
    if mode == "json":
        value = draw(json_values)
        indent = draw(st.sampled_from([None, 2]))
        expected = json.dumps(value, ensure_ascii=False, separators=(",", ":"))
        return Case(event, ("--json",), json.dumps(value, indent=indent).encode(), expected)
    if mode == "stat":
        value = draw(stat_values)
        return Case(event, ("--render", "stat"), json.dumps(value).encode(), Stat(event).render(value))
    points = draw(st.lists(finite, max_size=80))
    return Case(event, ("--render", "chart"), json.dumps(points).encode(), Chart(event).render(points[-60:]))


@dataclass(frozen=True)
class Sent:
    case: Case
    channel: str
    frame: str  # what --dry-run printed just before
    line: str  # what the command printed


def publish(channel: str, case: Case) -> Sent:
    frame = command(*case.options, "--dry-run", "--", channel, case.event, "-", stdin=case.stdin)
    line = command(*case.options, "--", channel, case.event, "-", stdin=case.stdin)
    return Sent(case, channel, frame, line)


def check_arrival(client: SSEClient, sent: Sent) -> None:
    received = next_event(client)
    assert received.event == sent.case.event, sent
    assert received.data == sent.case.expected, sent
    assert received.id == f"{sent.channel}:{stored_id(sent.line)}", sent
    assert received.raw == sent.frame.encode(), sent  # --dry-run is the frame, byte for byte


# -- properties ----------------------------------------------------------------------
# Pushpin delivers in order but batches deliveries (about every 25 ms), so the
# one-channel properties publish every case first and then check the stream
# against them in order: anything extra, missing or altered fails.


def test_every_valid_event_reaches_the_browser_unchanged(listener: SSEClient) -> None:
    sent: list[Sent] = []

    @settings(PROPERTY, max_examples=650)
    @given(case=valid_cases())
    def check(case: Case) -> None:
        sent.append(publish("prop", case))

    check()
    assert len(sent) == 650
    for item in sent:
        check_arrival(listener, item)
    send_sentinel(listener)


def test_every_valid_channel_reaches_its_subscribers(on_stack: Stack) -> None:
    runs = []

    @settings(PROPERTY, max_examples=100)
    @given(channel=channels, event=event_names, data=text_data)
    def check(channel: str, event: str, data: str) -> None:
        runs.append(channel)
        client = listen(on_stack, channel)
        try:
            check_arrival(client, publish(channel, Case(event, (), data.encode(), data)))
        finally:
            client.close()

    check()
    assert len(runs) == 100


@dataclass(frozen=True)
class Bad:
    args: tuple[str, ...]
    stdin: bytes
    words: str  # what the one line on stderr must say


LIMIT = 200  # DASHBOARDS_MAX_DATA_BYTES while invalid input is generated


def invalid_cases() -> st.SearchStrategy[Bad]:
    return _invalid_cases().map(_input_cap)


def _input_cap(bad: Bad) -> Bad:
    """Input far over the limit is refused before it is even parsed (see read_limited)."""
    if len(bad.stdin) > LIMIT * INPUT_FACTOR:
        return Bad(bad.args, bad.stdin, f"input is over {LIMIT * INPUT_FACTOR} bytes")
    return bad


@st.composite
def _invalid_cases(draw: st.DrawFn) -> Bad:
    rule = draw(st.sampled_from(["channel", "event", "reserved", "utf8", "nul", "cr", "size", "json", "value"]))
    event = draw(event_names)
    text = draw(text_data)
    if rule == "channel":
        channel = draw(st.text(max_size=80).filter(lambda c: not CHANNEL_RE.fullmatch(c)))
        return Bad(("--", channel, event, "-"), text.encode(), "invalid channel")
    if rule == "event":
        name = draw(st.text(max_size=80).filter(lambda n: not EVENT_RE.fullmatch(n) and n not in RESERVED_EVENTS))
        return Bad(("--", "prop", name, "-"), text.encode(), "invalid event name")
    if rule == "reserved":
        return Bad(("prop", draw(st.sampled_from(sorted(RESERVED_EVENTS))), "-"), text.encode(), "reserved")
    if rule == "utf8":
        raw = draw(st.binary(min_size=1, max_size=100).filter(_not_utf8))
        return Bad(("prop", event, "-"), raw, "not valid UTF-8")
    if rule in ("nul", "cr"):
        at = draw(st.integers(0, len(text)))
        bad = text[:at] + ("\x00" if rule == "nul" else "\r") + text[at:]
        return Bad(("prop", event, "-"), bad.encode(), "NUL" if rule == "nul" else "carriage return")
    if rule == "size":
        extra = draw(st.text(legal_chars, min_size=1, max_size=50))
        big = "x" * (LIMIT - len(extra.encode()) + 1) + extra
        return Bad(("prop", event, "-"), big.encode(), f"over the limit of {LIMIT}")
    if rule == "json":
        text = draw(st.one_of(text_data, st.sampled_from(["NaN", "[Infinity]", "{'a': 1}", "[1,]", ""])))
        if not _not_json(text):
            text += "}"  # valid JSON and then more is not
        return Bad(("--json", "prop", event, "-"), text.encode(), "not valid JSON")
    kind = draw(st.sampled_from(["stat", "chart"]))
    value = draw(
        st.one_of(
            st.dictionaries(
                st.text(max_size=5).filter(lambda k: k not in ("text", "sub_text", "change", "value")), json_values
            ).filter(bool),
            st.lists(st.one_of(st.text(max_size=3), st.booleans()), min_size=1),
            st.none(),
        )
        if kind == "stat"
        else st.one_of(
            st.dictionaries(st.text(max_size=5), json_values),
            # null is a gap in a chart: a list of nothing but gaps is a valid (empty) window
            st.lists(st.one_of(st.text(max_size=3), st.booleans(), st.none()), min_size=1).filter(
                lambda points: any(p is not None for p in points)
            ),
            finite,
            st.text(legal_chars, max_size=10),
        )
    )
    return Bad(("--render", kind, "prop", event, "-"), json.dumps(value).encode(), kind.capitalize())


def _argv_safe(args: tuple[str, ...]) -> bool:
    """A shell can pass it: no NUL, and encodable as the command line is."""
    try:
        "".join(args).encode("utf-8", "surrogateescape")
    except UnicodeEncodeError:
        return False
    return "\x00" not in "".join(args)


def _not_utf8(raw: bytes) -> bool:
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError:
        return True
    return False


def _not_json(raw: str) -> bool:
    try:
        json.loads(raw, parse_constant=lambda name: 1 / 0)
    except (ValueError, ZeroDivisionError):
        return True
    return False


def test_every_invalid_input_exits_2_and_nothing_arrives(listener: SSEClient) -> None:
    rules: list[str] = []

    @settings(PROPERTY, max_examples=300)
    @given(bad=invalid_cases())
    def check(bad: Bad) -> None:
        rules.append(bad.words)
        before = stored_total()
        with override_settings(DASHBOARDS_MAX_DATA_BYTES=LIMIT), pytest.raises(CommandError) as info:
            command(*bad.args, stdin=bad.stdin)
        assert info.value.returncode == 2
        message = str(info.value)
        assert bad.words.lower() in message.lower(), message
        assert "\n" not in message
        assert stored_total() == before

    check()
    assert len(rules) == 300 and len(set(rules)) >= 10  # every rule, many times
    send_sentinel(listener)  # had anything been published, it would arrive first


def test_data_at_the_size_limit_arrives_and_one_byte_more_is_refused(listener: SSEClient) -> None:
    from django.conf import settings as django_settings

    limit = django_settings.DASHBOARDS_MAX_DATA_BYTES
    data = "ü" * (limit // 2 - 10) + "%\n" * 10  # exactly `limit` bytes of UTF-8
    assert len(data.encode()) == limit
    check_arrival(listener, publish("prop", Case("big", (), data.encode(), data)))
    with pytest.raises(CommandError) as info:
        command("prop", "big", "-", stdin=data.encode() + b"x")
    assert info.value.returncode == 2
    send_sentinel(listener)


# -- as a real process ---------------------------------------------------------------


def sendevent(
    stack: Stack, *args: str, stdin: bytes = b"", env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        [PYTHON, "manage.py", "sendevent", *args],
        cwd=ROOT,
        env={**stack.env, **(env or {})},
        input=stdin,
        capture_output=True,
        timeout=60,
    )


def one_line(stderr: bytes) -> str:
    text = stderr.decode()
    assert "Traceback" not in text
    assert text.endswith("\n") and text.count("\n") == 1, text
    return text


@pytest.fixture
def process_listener(stack: Stack) -> Iterator[SSEClient]:
    client = listen(stack, "proc")
    try:
        yield client
    finally:
        client.close()


def test_the_command_delivers_arguments_stdin_and_files_byte_for_byte(
    stack: Stack, process_listener: SSEClient, tmp_path: Path
) -> None:
    @settings(PROCESS_PROPERTY, max_examples=8)
    @given(case=valid_cases(), via=st.sampled_from(["argument", "stdin", "file"]))
    def check(case: Case, via: str) -> None:
        if via == "argument" and case.stdin != b"-":
            args: tuple[str, ...] = (*case.options, "proc", case.event, "--", case.stdin.decode())
            stdin = b""
        elif via == "file":
            (tmp_path / "data").write_bytes(case.stdin)
            args, stdin = (*case.options, "--file", str(tmp_path / "data"), "proc", case.event), b""
        else:
            args, stdin = (*case.options, "proc", case.event), case.stdin
        dry = sendevent(stack, "--dry-run", *args, stdin=stdin)
        assert dry.returncode == 0, dry.stderr
        done = sendevent(stack, *args, stdin=stdin)
        assert done.returncode == 0, done.stderr
        assert done.stderr == b""
        received = next_event(process_listener)
        assert (received.event, received.data) == (case.event, case.expected)
        assert received.id == f"proc:{stored_id(done.stdout.decode())}"
        assert received.raw == dry.stdout

    check()


def test_the_command_refuses_invalid_input_with_one_line_and_exit_2(stack: Stack, process_listener: SSEClient) -> None:
    @settings(PROCESS_PROPERTY, max_examples=6)
    @given(bad=invalid_cases().filter(lambda b: _argv_safe(b.args)))
    def check(bad: Bad) -> None:
        args = tuple("proc" if a == "prop" else a for a in bad.args)
        done = sendevent(stack, *args, stdin=bad.stdin, env={"DASHBOARDS_MAX_DATA_BYTES": str(LIMIT)})
        assert done.returncode == 2, done.stderr
        assert bad.words.lower() in one_line(done.stderr).lower()
        assert done.stdout == b""
        command_sentinel = sendevent(stack, "proc", "sentinel", "after a refusal")
        assert command_sentinel.returncode == 0
        assert next_event(process_listener).data == "after a refusal"

    check()


def test_stored_ids_increase_and_quiet_mode_prints_nothing(stack: Stack, process_listener: SSEClient) -> None:
    first = sendevent(stack, "proc", "count", "one")
    second = sendevent(stack, "proc", "count", "two", "-v", "0")
    assert first.returncode == second.returncode == 0
    assert second.stdout == second.stderr == b""
    a, b = next_event(process_listener), next_event(process_listener)
    assert (a.data, b.data) == ("one", "two")
    assert a.id is not None and b.id is not None
    assert int(b.id.split(":")[1]) > stored_id(first.stdout.decode())


def test_a_usage_error_is_one_line_and_exit_2(stack: Stack) -> None:
    done = sendevent(stack, "proc", "e", "x", "--timeout", "-1")
    assert done.returncode == 2
    assert "positive number of seconds" in one_line(done.stderr)


# -- faults, with real sockets --------------------------------------------------------


def stored_on(stack: Stack, channel: str) -> int:
    [(count,)] = stack.sql("SELECT count(*) FROM django_eventstream_event WHERE channel = ? AND eid > 0", (channel,))
    return int(str(count))


def test_nothing_listening_exits_1_and_keeps_nothing(stack: Stack) -> None:
    done = sendevent(stack, "fault1", "e", "x", env={"GRIP_URL": f"http://127.0.0.1:{free_port()}?key=k"})
    assert done.returncode == 1
    assert "Pushpin is not reachable" in one_line(done.stderr)
    assert stored_on(stack, "fault1") == 0


class SilentServer:
    """Accepts connections and never answers."""

    def __init__(self) -> None:
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.accepted: list[float] = []
        self.conns: list[socket.socket] = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.accepted.append(time.monotonic())
            self.conns.append(conn)

    def close(self) -> None:
        self.sock.close()
        for conn in self.conns:
            conn.close()


def test_a_listener_that_never_answers_exits_1_within_the_timeout(stack: Stack) -> None:
    server = SilentServer()
    try:
        done = sendevent(
            stack, "fault2", "e", "x", "--timeout", "1", env={"GRIP_URL": f"http://127.0.0.1:{server.port}?key=k"}
        )
        exited = time.monotonic()
    finally:
        server.close()
    assert done.returncode == 1
    assert "did not answer within 1 s" in one_line(done.stderr)
    assert len(server.accepted) == 1
    assert 0.9 <= exited - server.accepted[0] <= 2.0  # the timeout, plus at most a second
    assert stored_on(stack, "fault2") == 0


def test_pushpin_answering_an_http_error_exits_1(stack: Stack) -> None:
    # the real Pushpin, asked at a path it does not serve
    grip_url = stack.env["GRIP_URL"].replace("?", "/no-such-path?")
    done = sendevent(stack, "fault3", "e", "x", env={"GRIP_URL": grip_url})
    assert done.returncode == 1
    assert "refused the publish: HTTP 404" in one_line(done.stderr)
    assert stored_on(stack, "fault3") == 0


def test_an_http_server_error_exits_1(stack: Stack) -> None:
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    class Failing(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            self.rfile.read(int(self.headers["Content-Length"]))
            self.send_response(500)
            self.send_header("Content-Length", "12")
            self.end_headers()
            self.wfile.write(b"out of order")

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Failing)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        done = sendevent(stack, "fault4", "e", "x", env={"GRIP_URL": f"http://127.0.0.1:{server.server_port}?key=k"})
    finally:
        server.shutdown()
        server.server_close()
    assert done.returncode == 1
    assert "refused the publish: HTTP 500 out of order" in one_line(done.stderr)
    assert stored_on(stack, "fault4") == 0


def test_a_database_without_tables_exits_1_with_one_line(stack: Stack, tmp_path: Path) -> None:
    if stack.cluster is not None:  # an empty database beside the stack's, on the same server
        url, missing = stack.cluster.url(stack.cluster.create_database()), "relation .* does not exist"
    else:
        url, missing = f"sqlite:///{tmp_path / 'empty.sqlite3'}", "no such table"
    done = sendevent(stack, "fault5", "e", "x", env={"DATABASE_URL": url})
    assert done.returncode == 1
    assert re.search(f"could not store the event\\(s\\) in the database: {missing}", one_line(done.stderr))


def test_ctrl_c_while_pushpin_hangs_exits_1_and_keeps_nothing(stack: Stack) -> None:
    server = SilentServer()
    try:
        proc = subprocess.Popen(
            [PYTHON, "manage.py", "sendevent", "fault6", "e", "x", "--timeout", "20"],
            cwd=ROOT,
            env={**stack.env, "GRIP_URL": f"http://127.0.0.1:{server.port}?key=k"},
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        deadline = time.monotonic() + 10
        while not server.accepted and time.monotonic() < deadline:
            time.sleep(0.02)
        assert server.accepted, "sendevent never connected"
        proc.send_signal(signal.SIGINT)
        _, stderr = proc.communicate(timeout=5)
    finally:
        server.close()
    assert proc.returncode == 1
    assert "interrupted: nothing was published" in one_line(stderr)
    assert stored_on(stack, "fault6") == 0
