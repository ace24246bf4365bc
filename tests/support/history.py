"""A channel's stored history, written in a few statements: 100,000 events in seconds, not minutes."""

from __future__ import annotations

from tests.support.stack import Stack


def fill(stack: Stack, channel: str, count: int, names: int = 5, whole_state: bool = True) -> None:
    """Events 1..count on `channel`, named k0..k(names-1) in turn, and django-eventstream's placeholder 0.

    With `whole_state`, the names are recorded as a component's would be on its first publish.
    """
    numbers = (
        "SELECT generate_series(0, ?) AS i"
        if stack.database == "postgres"
        else "WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < ?) SELECT i FROM n"
    )
    stack.sql(
        "INSERT INTO django_eventstream_event (channel, type, data, eid, created) "
        f"SELECT '{channel}', CASE WHEN i = 0 THEN '' ELSE 'k' || (i % {names}) END, "
        "CASE WHEN i = 0 THEN '' ELSE '\"<p>' || i || '</p>\"' END, i, CURRENT_TIMESTAMP "
        f"FROM ({numbers}) AS n",
        (count,),
    )
    stack.sql(
        "INSERT INTO django_eventstream_eventcounter (name, value, updated) VALUES (?, ?, CURRENT_TIMESTAMP)",
        (channel, count),
    )
    if whole_state:
        for i in range(names):
            stack.sql(
                "INSERT INTO dashboards_live_eventkind (channel, name, whole_state) VALUES (?, ?, TRUE)",
                (channel, f"k{i}"),
            )
