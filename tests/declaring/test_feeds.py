from __future__ import annotations

import pytest
from django.test import override_settings

from dashboards_live.declaring.components import Stat
from dashboards_live.declaring.feeds import (
    FeedError,
    FeedRegistry,
    UnknownFeed,
    autodiscover,
    make_feed,
    registry,
    table,
)


def test_table_lists_name_channel_event_and_interval() -> None:
    feeds = [
        make_feed(lambda: 1, channel="ops", component=Stat("queue_depth"), every=5, name="queue"),
        make_feed(lambda: 1, channel="sales-eu", component=Stat("orders"), every=0.25, name="orders_per_minute"),
    ]
    assert table(feeds).splitlines() == [
        "FEED               CHANNEL   EVENT        EVERY",
        "queue              ops       queue_depth  5s",
        "orders_per_minute  sales-eu  orders       0.25s",
    ]


def test_select_refuses_unknown_names_and_lists_the_known_ones() -> None:
    reg = FeedRegistry()
    reg.add(make_feed(lambda: 1, channel="c", component=Stat("a"), every=1, name="a"))
    with pytest.raises(UnknownFeed, match=r"unknown feed\(s\): x, y. Known feeds: a"):
        reg.select(["x", "a", "y"])


def test_two_feeds_cannot_share_a_name() -> None:
    reg = FeedRegistry()
    reg.add(make_feed(lambda: 1, channel="c", component=Stat("a"), every=1, name="a"))
    with pytest.raises(FeedError, match="already registered"):
        reg.add(make_feed(lambda: 2, channel="c", component=Stat("a"), every=1, name="a"))


@pytest.mark.parametrize("every", [0, -1, float("inf"), float("nan")])
def test_interval_must_be_a_positive_number(every: float) -> None:
    with pytest.raises(FeedError, match="positive number"):
        make_feed(lambda: 1, channel="c", component=Stat("a"), every=every)


def test_autodiscover_loads_the_listed_modules() -> None:
    with override_settings(DASHBOARDS_FEED_MODULES=["dashboards_live.declaring.demo", "tests.support.feeds_for_tests"]):
        found = autodiscover()
    assert found is registry
    assert {"demo_stat", "demo_chart", "t_fast", "t_broken"} <= {f.name for f in found.all()}


def test_a_listed_module_that_does_not_exist_is_a_clear_error() -> None:
    with (
        override_settings(DASHBOARDS_FEED_MODULES=["myproject.no_such_feeds"]),
        pytest.raises(FeedError, match=r"'myproject\.no_such_feeds', which is not an importable module"),
    ):
        autodiscover()
