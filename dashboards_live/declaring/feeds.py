"""What a feed is, and the registry that finds them.

A feed produces a component's next value on a schedule. Bound to a component
of a declared dashboard (its channel and event name come from the dashboard):

    from dashboards_live import feed

    @feed(Ops.queue, every=5)
    def queue() -> int:
        return Job.objects.filter(done=False).count()

or to a channel and a free-standing component:

    @feed(channel="ops", component=Stat("queue_depth"), every=5)
    def queue_depth() -> dict[str, str]:
        return {"text": str(Job.objects.filter(done=False).count()), "sub_text": "jobs waiting"}

Feeds live in the `feeds` (or `dashboards`) module of any installed app (found like the admin's
autodiscovery) or in a module listed in DASHBOARDS_FEED_MODULES.
"""

from __future__ import annotations

import importlib
import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from typing import Any, TypeVar

from dashboards_live import conf
from dashboards_live.contract import validate_channel
from dashboards_live.declaring.components import Component

F = TypeVar("F", bound=Callable[[], Any])


@dataclass(frozen=True)
class Feed:
    name: str
    channel: str
    component: Component
    interval: float
    produce: Callable[[], Any]

    @property
    def event(self) -> str:
        return self.component.key

    def but(self, **changes: Any) -> Feed:
        return replace(self, **changes)


class FeedError(ValueError):
    """A feed declaration that cannot be used (bad interval, duplicate name, missing module)."""


class UnknownFeed(LookupError):
    def __init__(self, names: list[str], known: list[str]) -> None:
        super().__init__(f"unknown feed(s): {', '.join(names)}. Known feeds: {', '.join(known) or '(none)'}")
        self.names = names
        self.known = known


class FeedRegistry:
    def __init__(self) -> None:
        self._feeds: dict[str, Feed] = {}

    def add(self, item: Feed) -> Feed:
        existing = self._feeds.get(item.name)
        if existing is not None and existing.produce is not item.produce:
            raise FeedError(f"a feed named {item.name!r} is already registered")
        self._feeds[item.name] = item
        return item

    def all(self) -> list[Feed]:
        return sorted(self._feeds.values(), key=lambda f: f.name)

    def select(self, names: Iterable[str] = ()) -> list[Feed]:
        wanted = list(dict.fromkeys(names))
        if not wanted:
            return self.all()
        unknown = [n for n in wanted if n not in self._feeds]
        if unknown:
            raise UnknownFeed(unknown, sorted(self._feeds))
        return [self._feeds[n] for n in wanted]


registry = FeedRegistry()


def make_feed(
    produce: Callable[[], Any], *, channel: str, component: Component, every: float, name: str | None = None
) -> Feed:
    if not (isinstance(every, int | float) and math.isfinite(every) and every > 0):
        raise FeedError(f"feed interval must be a positive number of seconds, not {every!r}")
    return Feed(
        name=name or str(getattr(produce, "__name__", "feed")),
        channel=validate_channel(channel),
        component=component,
        interval=float(every),
        produce=produce,
    )


def feed(
    target: Component | None = None,
    /,
    *,
    every: float,
    channel: str | None = None,
    component: Component | None = None,
    name: str | None = None,
) -> Callable[[F], F]:
    """Declare a feed: the decorated callable returns the component's next value.

    `@feed(Ops.queue, every=5)` for a dashboard's component, or
    `@feed(channel="ops", component=Stat("queue"), every=5)`.
    """
    component, channel = _bind(target, component, channel)

    def register(produce: F) -> F:
        registry.add(make_feed(produce, channel=channel, component=component, every=every, name=name))
        return produce

    return register


def _bind(target: Component | None, component: Component | None, channel: str | None) -> tuple[Component, str]:
    if target is not None and component is not None:
        raise FeedError("give the component once: @feed(Ops.queue, every=...) or component=...")
    component = target if target is not None else component
    if component is None:
        raise FeedError("a feed needs a component: @feed(Ops.queue, every=...)")
    if not isinstance(component, Component):
        raise FeedError(f"{component!r} is not a component (Stat, Chart, Table, Text, Gauge)")
    channel = channel if channel is not None else component.channel
    if channel is None:
        raise FeedError(f"{component!r} is not declared on a Dashboard, so it has no channel: give channel=...")
    return component, channel


def autodiscover() -> FeedRegistry:
    from django.utils.module_loading import autodiscover_modules

    # feeds may be declared beside their dashboards, so both modules are looked for
    autodiscover_modules("dashboards", "feeds")
    for path in conf.setting("DASHBOARDS_FEED_MODULES"):
        try:
            importlib.import_module(path)
        except ModuleNotFoundError as exc:
            if exc.name is None or not (path == exc.name or path.startswith(exc.name + ".")):
                raise  # the module exists but imports something missing: its traceback says what
            raise FeedError(f"DASHBOARDS_FEED_MODULES names {path!r}, which is not an importable module") from None
    return registry


def table(feeds: Iterable[Feed]) -> str:
    """Name, channel, event and interval of each feed, in aligned columns."""
    rows = [("FEED", "CHANNEL", "EVENT", "EVERY")]
    rows += [(f.name, f.channel, f.event, f"{f.interval:g}s") for f in feeds]
    widths = [max(len(row[i]) for row in rows) for i in range(3)]
    return "\n".join(
        f"{name:<{widths[0]}}  {channel:<{widths[1]}}  {event:<{widths[2]}}  {every}".rstrip()
        for name, channel, event, every in rows
    )
