"""A user's declared dashboards (tests/support/dashapp), end to end: real Pushpin, gunicorn, Chromium."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support.stack import Stack

pytestmark = pytest.mark.browser

PUSH = (
    "import json, sys\n"
    "from dashboards_live import push_many\n"
    "from tests.support.dashapp.dashboards import Ops\n"
    "values = json.loads(sys.stdin.read())\n"
    "push_many([(getattr(Ops, key), value) for key, value in values])\n"
)


@pytest.fixture(scope="module")
def app_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """A stack whose project installs the test app, with a private dashboard."""
    s = Stack(Path(tmp_path_factory.mktemp("dashapp")))
    s.env["DASHBOARDS_APPS"] = "tests.support.dashapp"
    s.env["DASHBOARDS_CHANNELS"] = "vault=staff,*=public"
    try:
        yield s.start()
    finally:
        s.close()


def push(stack: Stack, *values: tuple[str, Any]) -> None:
    """push_many() from another process, as a Celery task would call it."""
    result = stack.manage("shell", "-c", PUSH, input=json.dumps(values).encode())
    assert result.returncode == 0, result.stderr


def text(page: Any, selector: str) -> str:
    return str(page.inner_text(selector)) if page.query_selector(selector) else ""


def test_the_index_lists_what_the_user_may_read(app_stack: Stack, page: Any) -> None:
    page.goto(app_stack.url("/dashboards/"))
    links = page.eval_on_selector_all(".dashboard-list a", "els => els.map(e => e.textContent)")
    assert "Operations" in links and "Demo dashboard" in links
    assert "Vault" not in links


def test_a_private_dashboard_sends_anonymous_users_to_log_in(app_stack: Stack, page: Any) -> None:
    response = page.goto(app_stack.url("/dashboards/vault/"))
    assert "/login/?next=/dashboards/vault/" in page.url
    assert response is not None and response.ok


def test_values_from_the_loop_then_push_then_a_reload(app_stack: Stack, page: Any) -> None:
    page.goto(app_stack.url("/dashboards/ops/"))
    page.wait_for_selector("#stream-state[data-stream=live]", timeout=10_000)

    result = app_stack.manage("runeventloop", "--once", "ops_queue", "ops_throughput", "ops_slowest")
    assert result.returncode == 0, result.stderr
    page.wait_for_function("document.querySelector('#queue .stat-text')?.textContent === '42'", timeout=5_000)
    assert page.query_selector_all("#throughput g path")
    assert text(page, "#slowest tbody").count("\n") >= 1 and "resize <images>" in text(page, "#slowest tbody")

    push(app_stack, ("notes", "deploy <done>"), ("queue", {"text": "1,500", "value": 1500}))
    # the push returned once Pushpin took it: the page must show it within a second
    page.wait_for_function("document.querySelector('#notes')?.innerText.includes('deploy <done>')", timeout=1_000)
    page.wait_for_function("document.querySelector('#queue .stat-text')?.textContent === '1,500'", timeout=1_000)
    assert page.query_selector("#queue .stat-level-critical") is not None
    assert "no update yet" not in text(page, "#stream-state")

    # an operator's one-off, through the declared component
    result = app_stack.manage("sendevent", "--render", "ops.queue", '{"text": "12", "value": 12}')
    assert result.returncode == 0, result.stderr
    page.wait_for_function("document.querySelector('#queue .stat-text')?.textContent === '12'", timeout=2_000)
    assert page.query_selector("#queue .stat-level-ok") is not None

    # a post_save receiver pushing on commit (tests/support/dashapp/signals.py)
    code = "from django.contrib.auth.models import User; User.objects.create_user('ann')"
    result = app_stack.manage("shell", "-c", code)
    assert result.returncode == 0, result.stderr
    page.wait_for_function("document.querySelector('#notes')?.innerText.includes('ann signed up')", timeout=2_000)

    page.route("**/events/**", lambda route: route.abort())
    page.reload()
    # rendered from storage: the last values are there with no stream at all
    assert text(page, "#queue .stat-text") == "12"
    assert "ann signed up" in text(page, "#notes")
    assert "resize <images>" in text(page, "#slowest")
    assert page.errors == []


def test_a_poll_rate_component_keeps_updating_while_the_stream_is_blocked(app_stack: Stack, page: Any) -> None:
    page.route("**/events/**", lambda route: route.abort())
    page.goto(app_stack.url("/dashboards/ops/"))
    page.wait_for_selector("#stream-state:not([data-stream=live]):not([data-stream=connecting])", timeout=10_000)
    before_queue = text(page, "#queue .stat")  # its value (a stale mark beside it counts the seconds)
    for n in (7, 8):
        push(app_stack, ("backlog", str(n)))
        page.wait_for_function(f"document.querySelector('#backlog .stat-text')?.textContent === '{n}'", timeout=5_000)
    # only poll_rate components poll: the others wait for the stream
    assert text(page, "#queue .stat") == before_queue
    assert page.query_selector("#stream-state[data-stream=live]") is None


def test_the_indicator_follows_pushpin_going_away_and_coming_back(tmp_path: Path, page: Any) -> None:
    s = Stack(tmp_path / "stack")
    s.env["DASHBOARDS_APPS"] = "tests.support.dashapp"
    try:
        s.start()
        page.goto(s.url("/dashboards/ops/"))
        page.wait_for_selector("#stream-state[data-stream=live]", timeout=10_000)
        assert text(page, "#stream-state .stream-label") == "Live"
        s.stop_pushpin()
        page.wait_for_selector("#stream-state[data-stream=reconnecting]", timeout=10_000)
        assert text(page, "#stream-state .stream-label") == "Reconnecting…"
        began = time.monotonic()
        s.start_pushpin()
        # the extension retries with backoff (0.5 s doubling, at most 64 s): a few seconds here
        page.wait_for_selector("#stream-state[data-stream=live]", timeout=30_000)
        assert time.monotonic() - began < 30
        push(s, ("notes", "back"))
        page.wait_for_function("document.querySelector('#notes')?.innerText.includes('back')", timeout=5_000)
    finally:
        s.close()
