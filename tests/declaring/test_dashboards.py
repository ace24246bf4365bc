from __future__ import annotations

from collections.abc import Iterator

import pytest
from django.core.checks import CheckMessage
from django.test import override_settings

from dashboards_live.declaring.components import Chart, Stat, Table, Text
from dashboards_live.declaring.dashboards import (
    Dashboard,
    DashboardRegistry,
    Section,
    UnknownComponent,
    find_component,
    registry,
)
from dashboards_live.declaring.feeds import FeedError, feed, make_feed
from dashboards_live.web.checks import check_dashboards


@pytest.fixture
def scoped() -> Iterator[DashboardRegistry]:
    with registry.scoped() as r:
        yield r


def ids(errors: list[CheckMessage], where: str) -> list[str]:
    return sorted(e.id for e in errors if e.obj == where and e.id)


def test_a_component_key_is_its_attribute_name_and_it_knows_its_dashboard(scoped: DashboardRegistry) -> None:
    class Ops(Dashboard):
        queue = Stat(title="Jobs waiting")
        notes = Text()

    assert Ops.queue.key == "queue"
    assert Ops.queue.dashboard is Ops
    assert Ops.queue.channel == "ops"
    assert [c.key for c in Ops.components] == ["queue", "notes"]
    assert Ops.name == "ops" and Ops.title == "Ops"
    assert scoped.get("ops") is Ops


def test_channel_name_and_title_can_be_given(scoped: DashboardRegistry) -> None:
    class Sales(Dashboard):
        name = "sales-eu"
        title = "Sales (EU)"
        channel = "sales.eu"
        total = Stat()

    assert Sales.total.channel == "sales.eu"
    assert scoped.get("sales-eu") is Sales


def test_a_bad_declaration_does_not_raise_but_the_check_names_dashboard_and_attribute(
    scoped: DashboardRegistry,
) -> None:
    # names a class body cannot spell, declared the way Python's class statement would
    Bad = type("Bad", (Dashboard,), {"stream-open": Stat(), "9lives": Stat(), "ok": Stat(), "channel": "demo"})
    errors = check_dashboards()
    found = [e for e in errors if e.obj == f"{Bad.__module__}.{Bad.__qualname__}"]
    assert sorted(str(e.id) for e in found) == ["dashboards_live.E022", "dashboards_live.E022"]
    assert any(e.msg.startswith("stream-open:") and "reserved" in e.msg for e in found), found
    assert any(e.msg.startswith("9lives:") for e in found), found


def test_duplicate_dashboard_names_are_a_check_error(scoped: DashboardRegistry) -> None:
    class One(Dashboard):
        name = "twin"
        channel = "demo"
        a = Stat()

    class Two(Dashboard):
        name = "twin"
        channel = "demo"
        a = Stat()

    errors = check_dashboards()
    assert ids(errors, f"{Two.__module__}.{Two.__qualname__}") == ["dashboards_live.E024"]
    assert ids(errors, f"{One.__module__}.{One.__qualname__}") == []


@override_settings(DASHBOARDS_CHANNELS={"demo": "public", "ops.*": "staff"})
def test_a_channel_no_rule_covers_is_a_check_error(scoped: DashboardRegistry) -> None:
    class Covered(Dashboard):
        channel = "ops.eu"
        a = Stat()

    class Uncovered(Dashboard):
        channel = "finance"
        a = Stat()

    errors = check_dashboards()
    assert ids(errors, f"{Covered.__module__}.{Covered.__qualname__}") == []
    [error] = [e for e in errors if e.obj == f"{Uncovered.__module__}.{Uncovered.__qualname__}"]
    assert error.id == "dashboards_live.E026"
    assert "'finance'" in error.msg and "DASHBOARDS_CHANNELS" in error.msg


def test_bad_dashboard_name_and_channel_are_check_errors(scoped: DashboardRegistry) -> None:
    class Odd(Dashboard):
        name = "Not A Slug"
        channel = "no spaces"
        a = Stat()

    assert ids(check_dashboards(), f"{Odd.__module__}.{Odd.__qualname__}") == [
        "dashboards_live.E020",
        "dashboards_live.E025",
    ]


def test_a_component_on_two_dashboards_is_a_check_error(scoped: DashboardRegistry) -> None:
    shared = Stat()

    class First(Dashboard):
        channel = "demo"
        a = shared

    class Second(Dashboard):
        channel = "demo"
        a = shared

    assert ids(check_dashboards(), f"{Second.__module__}.{Second.__qualname__}") == ["dashboards_live.E021"]
    assert shared.dashboard is First


def test_layout_sections_and_the_rest(scoped: DashboardRegistry) -> None:
    class Ops(Dashboard):
        channel = "demo"
        queue = Stat()
        rate = Chart()
        slow = Table(columns=["job"])
        notes = Text()
        layout = [Section("Jobs", "rate", "queue"), Section("Details", "slow")]

    blocks = Ops.blocks()
    assert [(b.heading, [c.key for c in b.components]) for b in blocks] == [
        ("Jobs", ["rate", "queue"]),
        ("Details", ["slow"]),
        ("", ["notes"]),
    ]
    assert Ops.problems == []


def test_layout_naming_an_unknown_component_is_a_check_error(scoped: DashboardRegistry) -> None:
    class Ops(Dashboard):
        channel = "demo"
        queue = Stat()
        layout = [Section("Jobs", "queue", "missing")]

    [problem] = Ops.problems
    assert problem.id == "dashboards_live.E023" and "'missing'" in problem.message


def test_feed_binds_to_a_dashboard_component(scoped: DashboardRegistry) -> None:
    class Ops(Dashboard):
        channel = "ops"
        queue = Stat()

    from dashboards_live.declaring.feeds import FeedRegistry
    from dashboards_live.declaring.feeds import registry as feeds

    before = feeds.all()
    try:

        @feed(Ops.queue, every=5)
        def ops_queue_test() -> int:
            return 3

        [bound] = [f for f in feeds.all() if f.name == "ops_queue_test"]
        assert (bound.channel, bound.event, bound.interval) == ("ops", "queue", 5.0)
    finally:
        feeds._feeds = {f.name: f for f in before}
    assert isinstance(feeds, FeedRegistry)


def test_feed_needs_a_channel_for_a_free_standing_component() -> None:
    with pytest.raises(FeedError, match="not declared on a Dashboard"):
        feed(Stat("loose"), every=1)
    assert make_feed(lambda: 1, channel="c", component=Stat("loose"), every=1).channel == "c"


def test_find_component_by_dashboard_and_key() -> None:
    component = find_component("demo.queue")
    assert component.key == "queue" and component.channel == "demo"
    with pytest.raises(UnknownComponent, match="no dashboard named 'nope'"):
        find_component("nope.queue")
    with pytest.raises(UnknownComponent, match="has no component 'nope'; its components: sse_stat"):
        find_component("demo.nope")


def test_the_demo_dashboard_shows_every_component_kind() -> None:
    demo = registry.get("demo")
    assert demo is not None
    assert {c.kind for c in demo.components} == {"stat", "chart", "table", "text", "gauge"}
    assert demo.problems == []
    assert [e for e in check_dashboards() if e.obj and "demo" in str(e.obj)] == []


def test_manage_py_check_reports_a_bad_declaration_and_runeventloop_will_not_start() -> None:
    import os
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    env = {**os.environ, "DASHBOARDS_FEED_MODULES": "dashboards_live.declaring.demo,tests.support.broken_dashboards"}
    env.pop("DASHBOARDS_CHANNELS", None)
    check = subprocess.run(
        [sys.executable, "manage.py", "check"], cwd=root, env=env, capture_output=True, text=True, timeout=60
    )
    assert check.returncode == 1
    assert (
        "tests.support.broken_dashboards.Finance: (dashboards_live.E026) channel: 'finance' is not covered"
        in check.stderr
    )
    assert "tests.support.broken_dashboards.Finance: (dashboards_live.E023) layout: section 'Money' names 'profit'" in (
        check.stderr
    )
    loop = subprocess.run(
        [sys.executable, "manage.py", "runeventloop", "--list"],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert loop.returncode != 0 and "E026" in loop.stderr
