from __future__ import annotations

import json
import re
import time
from typing import Any

import pytest
from dashboards.component import Chart, Stat
from django.template.loader import render_to_string

from dashboards_live.declaring import feeds
from dashboards_live.declaring.components import Component, InvalidValue
from dashboards_live.declaring.dashboards import find_component
from dashboards_live.publishing.push import render_all


def lines(html: str) -> list[str]:
    return [line.strip() for line in html.splitlines() if line.strip()]


def test_keys_and_channels_are_known_when_the_class_is_declared(ddapp: Any) -> None:
    shop, staff = ddapp.ShopDashboard, ddapp.StaffDashboard
    assert (shop.sse_stat.key, shop.sse_stat.channel) == ("sse_stat", "test")
    assert (shop.revenue.key, shop.revenue.channel) == ("revenue", "test")
    assert (staff.orders.key, staff.orders.channel) == ("orders", "staffshop")
    # what sendevent --render and the template tags look up
    assert find_component("shopdashboard.revenue") is shop.revenue
    assert find_component("staffdashboard.orders") is staff.orders


def test_a_live_component_is_a_django_dashboards_component_and_a_live_one(ddapp: Any) -> None:
    shop = ddapp.ShopDashboard
    assert isinstance(shop.sse_stat, Stat) and isinstance(shop.sse_stat, Component)
    assert isinstance(shop.revenue, Chart) and isinstance(shop.revenue, Component)
    assert list(shop.components) == ["sse_stat", "revenue", "visitors"]  # django-dashboards' own list


def test_push_renders_on_the_dashboards_channel(ddapp: Any) -> None:
    shop = ddapp.ShopDashboard
    stat, chart = render_all([(shop.sse_stat, 12), (shop.revenue, [1, 2])], time.time())
    assert (stat.channel, stat.name) == ("test", "sse_stat") and "<h2>12</h2>" in stat.data
    assert (chart.channel, chart.name) == ("test", "revenue")


def test_a_feed_binds_to_a_live_component(ddapp: Any) -> None:
    @feeds.feed(ddapp.ShopDashboard.revenue, every=5, name="dd_revenue_test")
    def revenue() -> list[int]:
        return [1, 2, 3]

    try:
        [found] = [f for f in feeds.registry.all() if f.name == "dd_revenue_test"]
        assert (found.channel, found.event, found.interval) == ("test", "revenue", 5.0)
    finally:
        feeds.registry._feeds.pop("dd_revenue_test")


def test_a_live_stat_renders_exactly_as_django_dashboards_own_stat(ddapp: Any) -> None:
    live = ddapp.ShopDashboard.sse_stat
    value = {"text": "12%", "sub_text": "Via SSE", "change_by": 3}
    own = Stat(value=value, key="sse_stat")
    from dashboards.component.stat import StatData

    expected = render_to_string(own.template_name, {"component": own, "rendered_value": StatData(**value)})
    assert lines(live.render(live.next_state(None, value))) == lines(expected)


@pytest.mark.parametrize("value", [None, True, {"sub_text": "no text"}, {"text": "x", "colour": "red"}, [1]])
def test_a_live_stat_refuses_what_it_cannot_show(ddapp: Any, value: Any) -> None:
    with pytest.raises(InvalidValue):
        ddapp.ShopDashboard.sse_stat.next_state(None, value)


def test_a_chart_event_carries_the_figure_as_data_never_a_script(ddapp: Any) -> None:
    import plotly.graph_objects as go

    chart = ddapp.ShopDashboard.revenue
    figure = go.Figure(go.Bar(x=["a", "b"], y=[3, 4], name="</script><script>alert(1)</script>"))
    html = chart.render(chart.next_state(None, figure))
    scripts = re.findall(r"<script[^>]*>", html)
    assert scripts == ['<script type="application/json">']
    assert "</script><script>" not in html.split('type="application/json">', 1)[1].split("</script>", 1)[0]
    carried = json.loads(re.search(r'type="application/json">(.*?)</script>', html).group(1))  # type: ignore[union-attr]
    assert carried["data"][0]["y"] == [3, 4] and carried["data"][0]["name"].startswith("</script>")


@pytest.mark.parametrize(
    "value",
    [{"data": [{"y": [1, 2]}]}, '{"data": [{"y": [1, 2]}], "layout": {}}', [1, 2]],
)
def test_a_chart_takes_a_figure_as_dict_json_or_a_list_of_numbers(ddapp: Any, value: Any) -> None:
    state = ddapp.ShopDashboard.revenue.next_state(None, value)
    assert state["data"][0]["y"] == [1, 2] and isinstance(state["layout"], dict)


@pytest.mark.parametrize("value", ["not json", {"layout": {}}, 12, ["a"]])
def test_a_chart_refuses_what_is_no_figure(ddapp: Any, value: Any) -> None:
    with pytest.raises(InvalidValue):
        ddapp.ShopDashboard.revenue.next_state(None, value)


def test_sendevent_render_finds_and_renders_a_live_component(ddapp: Any) -> None:
    from dashboards_live.publishing.oneoff import prepare_for

    event = prepare_for("shopdashboard.sse_stat", '{"text": "12", "sub_text": "orders"}')
    assert (event.channel, event.name) == ("test", "sse_stat")
    assert "<h2>12</h2>" in event.data and "<span>orders</span>" in event.data
