"""Push a value to a dashboard from any Python code: a Celery task, a signal, a shell.

    from dashboards_live import push, push_many

    push(Ops.queue, 12)
    push_many([(Ops.queue, 12), (Ops.throughput, {"done": 40, "failed": 2})])

The value goes the way a feed's does: validated and rendered by the same
component and template, stored, then posted to every Pushpin through the one
delivery engine, with its fail-fast policy: synchronously, within a timeout
(DASHBOARDS_PUBLISH_TIMEOUT unless given). A bad value raises InvalidValue or
InvalidEvent and publishes nothing; a failed delivery raises PublishError and
keeps nothing (what no Pushpin took is withdrawn from storage).

A Chart builds on its last stored state, whoever stored it (the loop, another
worker): the fragment carries its state. Two processes appending to the same
chart at the same instant may each build on the same previous window; the
later one wins, as with any whole-state event.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Iterable, Sequence
from typing import Any

from dashboards_live.contract import Event, Published, make_event
from dashboards_live.declaring.components import Component
from dashboards_live.publishing.delivery import DeliveryEngine
from dashboards_live.publishing.storage import last_states


class NotOnADashboard(TypeError):
    """push() was given a component that no Dashboard declares (so it has no channel)."""


_engine: DeliveryEngine | None = None
_engine_lock = threading.Lock()


def default_engine() -> DeliveryEngine:
    """The process's engine, made from the settings on first use."""
    global _engine
    with _engine_lock:
        if _engine is None:
            _engine = DeliveryEngine.from_settings()
        return _engine


def _forget_engine() -> None:
    global _engine
    _engine = None  # a forked worker (Celery prefork, gunicorn) builds its own


os.register_at_fork(after_in_child=_forget_engine)


def push(
    component: Component,
    value: Any,
    *,
    timeout: float | None = None,
    at: float | None = None,
    engine: DeliveryEngine | None = None,
) -> Published:
    """Render `value` with `component` and deliver it now; returns the stored id (if stored)."""
    [published] = push_many([(component, value)], timeout=timeout, at=at, engine=engine)
    return published


def push_many(
    values: Iterable[tuple[Component, Any]],
    *,
    timeout: float | None = None,
    at: float | None = None,
    engine: DeliveryEngine | None = None,
) -> list[Published]:
    """Several values in one delivery: all are rendered before any is stored, so one bad value publishes none.

    Values for the same component are applied in order (a Chart gets every
    point) and published as one event, its final whole state: the list holds
    one Published per component, in the order of each one's last value.
    """
    events = render_all(list(values), time.time() if at is None else at)
    if not events:
        return []
    # the engine holds the channels from storing to posting (store.serialized): pushes
    # from other threads and processes come before or after, never in between
    return (default_engine() if engine is None else engine).publish(events, timeout=timeout)


def render_all(values: Sequence[tuple[Component, Any]], at: float) -> list[Event]:
    """One event per value, each the component's whole new state."""
    states = stored_states([(_channel_of(component), component) for component, _ in values])
    final: dict[tuple[str, str], tuple[Component, Any]] = {}
    for component, value in values:
        channel = _channel_of(component)
        where = (channel, component.key)
        states[where] = component.next_state(states.get(where), value, at)
        final.pop(where, None)  # re-inserted: events go out in the order of each component's last value
        final[where] = (component, states[where])
    # every event is the component's whole state: one per component carries all its values
    return [
        make_event(
            channel,
            key,
            component.render(state),
            state=component.stored_state(state),
            whole_state=component.whole_state,
        )
        for (channel, key), (component, state) in final.items()
    ]


def stored_states(components: Iterable[tuple[str, Component]]) -> dict[tuple[str, str], Any]:
    """The last stored state of each (channel, component) that builds on its previous one (a Chart)."""
    wanted: dict[str, list[Component]] = {}
    for channel, component in components:
        if component.builds_on_previous:
            wanted.setdefault(channel, []).append(component)
    states: dict[tuple[str, str], Any] = {}
    for channel, found in wanted.items():
        stored = last_states(channel, [c.key for c in found])
        for c in found:
            if c.key in stored:
                states[(channel, c.key)] = c.restore(stored[c.key])
    return states


def _channel_of(component: Component) -> str:
    if not isinstance(component, Component):
        raise NotOnADashboard(f"{component!r} is not a component (Stat, Chart, Table, Text, Gauge)")
    channel = component.channel
    if channel is None:
        raise NotOnADashboard(
            f"{component!r} is not declared on a Dashboard, so it has no channel: declare it on one, "
            "or publish with dashboards_live.publishing.delivery.publish"
        )
    return channel
