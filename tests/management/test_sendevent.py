"""The sendevent command in-process (call_command); end to end in tests/integration/."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any
from unittest import mock

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import override_settings

from dashboards_live.management.commands.sendevent import Command
from tests.support.stack import free_port


def run(*args: str, stdin: bytes | None = None) -> tuple[str, str]:
    out, err = io.StringIO(), io.StringIO()
    fake_stdin = io.TextIOWrapper(io.BytesIO(stdin or b""))
    with mock.patch("sys.stdin", fake_stdin):
        call_command("sendevent", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def refusal(*args: str, stdin: bytes | None = None) -> CommandError:
    with pytest.raises(CommandError) as info:
        run(*args, stdin=stdin)
    return info.value


def stored_count() -> int:
    from django_eventstream.models import Event

    return int(Event.objects.filter(eid__gt=0).count())


def test_help_shows_examples() -> None:
    text = Command().create_parser("manage.py", "sendevent").format_help()
    assert "examples:\n  python manage.py sendevent demo notice" in text
    assert "--render chart '[3, 1, 4, 1, 5]'" in text
    assert "--dry-run" in text and "--timeout SECONDS" in text


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["c", "e", "x", "--json", "--render", "stat"], "not allowed with argument --json"),
        (["c", "e", "--timeout", "0", "x"], "positive number of seconds"),
        (["c", "e", "--timeout", "nan", "x"], "positive number of seconds"),
        (["c", "e", "--render", "table", "x"], "is not stat, chart or DASHBOARD.COMPONENT"),
        (["c"], "give CHANNEL and EVENT"),
        (["--render", "demo.queue", "demo", "queue", "1"], "give only DATA"),
    ],
)
def test_bad_usage_exits_2(args: list[str], message: str) -> None:
    error = refusal(*args)
    assert error.returncode == 2
    assert message in str(error)


def test_data_and_file_together_exit_2(tmp_path: Path) -> None:
    (tmp_path / "d.html").write_text("x")
    error = refusal("c", "e", "x", "--file", str(tmp_path / "d.html"))
    assert error.returncode == 2 and "not both" in str(error)


def test_unreadable_file_exits_2(tmp_path: Path) -> None:
    error = refusal("c", "e", "--file", str(tmp_path / "missing.html"))
    assert error.returncode == 2
    assert "cannot read --file" in str(error) and "No such file" in str(error)


@pytest.mark.parametrize(
    ("args", "stdin", "words"),
    [
        (["bad channel", "e", "x"], None, "invalid channel"),
        (["c", "1e", "x"], None, "invalid event name"),
        (["c", "stream-open", "x"], None, "reserved"),
        (["c", "e"], b"\xff\xfe", "not valid UTF-8"),
        (["c", "e", "-"], b"a\x00b", "NUL"),
        (["c", "e", "a\r\nb"], None, "carriage return"),
        (["c", "e", "--json", "{x"], None, "not valid JSON"),
        (["c", "e", "--render", "stat", '{"txt": 1}'], None, "invalid stat value"),
        (["c", "e", "--render", "chart", '{"a": 1}'], None, "Chart value"),
    ],
)
def test_invalid_input_exits_2_with_one_line_naming_the_rule(args: list[str], stdin: bytes | None, words: str) -> None:
    error = refusal(*args, stdin=stdin)
    assert error.returncode == 2
    assert words in str(error)
    assert "\n" not in str(error)


def test_size_limit_is_the_setting() -> None:
    with override_settings(DASHBOARDS_MAX_DATA_BYTES=3):
        error = refusal("c", "e", "abcd")
    assert error.returncode == 2 and "over the limit of 3" in str(error)


@pytest.mark.django_db
def test_invalid_input_stores_nothing() -> None:
    refusal("c", "e", "a\x00b")
    assert stored_count() == 0


@pytest.mark.django_db
def test_dry_run_prints_the_frame_with_the_next_id_and_stores_nothing() -> None:
    out, _ = run("chan", "news", "--dry-run", stdin=b"100% <b>\xc3\xbc</b>\n")
    assert out == "event: news\nid: chan:1\ndata: 100% <b>\xfc</b>\ndata: \n\n"
    assert stored_count() == 0


@pytest.mark.django_db
def test_dry_run_prints_the_frame_even_when_silent() -> None:
    out, _ = run("chan", "news", "hi", "--dry-run", "-v", "0")
    assert out == "event: news\nid: chan:1\ndata: hi\n\n"


@pytest.mark.django_db
def test_unreachable_pushpin_exits_1_and_keeps_nothing() -> None:
    url = f"http://127.0.0.1:{free_port()}?key=k"
    with override_settings(GRIP_URL=url):
        error = refusal("chan", "news", "hi")
    assert error.returncode == 1
    assert "Pushpin is not reachable" in str(error)
    assert stored_count() == 0


def test_options_may_follow_data() -> None:
    # argparse alone would take DATA as missing once options follow EVENT
    parser: Any = Command().create_parser("manage.py", "sendevent")
    options = parser.parse_args(["c", "e", "--json", "[1]", "--timeout", "2"])
    assert (options.data, options.json, options.timeout) == ("[1]", True, 2.0)


@pytest.mark.django_db
def test_render_a_declared_component_takes_channel_and_event_from_the_dashboard() -> None:
    from dashboards_live.declaring.demo import Demo

    out, _ = run("--render", "demo.queue", '{"text": "1,200", "value": 1200}', "--dry-run")
    assert "event: queue\n" in out, out
    assert "stat-level-critical" in out and "Jobs waiting" in out
    assert Demo.queue.title == "Jobs waiting"
    assert stored_count() == 0


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("reference", "data", "words"),
    [
        ("nope.queue", "1", "no dashboard named 'nope'"),
        ("demo.nope", "1", "has no component 'nope'"),
        ("demo.latency", "3", "invalid chart value for demo.latency"),
        ("demo.queue", "{oops", "not valid JSON"),
        ("demo.memory", "9" * 400, "too large for a number"),
        ("demo.memory", "1e999", "not a finite number"),
        ("demo.memory", '{"value": 1e999}', "not a finite number"),
    ],
)
def test_render_a_declared_component_refuses_bad_references_and_values(reference: str, data: str, words: str) -> None:
    error = refusal("--render", reference, data)
    assert error.returncode == 2 and words in str(error), str(error)
    assert "\n" not in str(error)
    assert stored_count() == 0
