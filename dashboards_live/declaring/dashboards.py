"""Declared dashboards: a class whose component attributes become one live page.

    from dashboards_live import Chart, Dashboard, Section, Stat

    class Ops(Dashboard):
        title = "Operations"
        channel = "ops"                 # default: the dashboard's name
        queue = Stat(title="Jobs waiting", warn=100, critical=1000)
        throughput = Chart(title="Jobs per minute", series=["done", "failed"], width=2)
        layout = [Section("Jobs", "queue", "throughput")]   # optional

A component's key (its SSE event name) is its attribute name, and `Ops.queue`
is that component of that dashboard wherever it is used: `@feed(Ops.queue,
every=5)`, `push(Ops.queue, 12)`, `sendevent --render ops.queue 12`.

Declaring never raises: what is wrong with a declaration (a bad key, a duplicate
name, a channel no rule covers) is kept on the class and reported by the system
checks (`manage.py check`, and before runeventloop starts), naming the
dashboard and the attribute.

Dashboards live in the `dashboards` module of any installed app (found like the
admin's autodiscovery) or in a module listed in DASHBOARDS_FEED_MODULES.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, ClassVar

from dashboards_live.contract import InvalidEvent, validate_event_name
from dashboards_live.declaring.components import Component
from dashboards_live.declaring.feeds import autodiscover as autodiscover_feeds

NAME_RE = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")


@dataclass(frozen=True)
class Problem:
    """Something wrong with a declaration, reported by the system checks."""

    dashboard: str  # the class's dotted path
    attribute: str | None
    message: str
    id: str

    def __str__(self) -> str:
        return f"{self.attribute}: {self.message}" if self.attribute else self.message


@dataclass(frozen=True)
class Section:
    """A heading over some of a dashboard's components, named by attribute."""

    heading: str
    names: tuple[str, ...]

    def __init__(self, heading: str, *names: str) -> None:
        object.__setattr__(self, "heading", heading)
        object.__setattr__(self, "names", names)


@dataclass(frozen=True)
class Block:
    """A section as the page draws it: its heading and its components."""

    heading: str
    components: tuple[Component, ...]


class Dashboard:
    """Subclass it; every Component attribute is one of its live components."""

    name: ClassVar[str] = ""
    title: ClassVar[str] = ""
    channel: ClassVar[str] = ""
    description: ClassVar[str] = ""
    layout: ClassVar[Sequence[Section] | None] = None

    components: ClassVar[tuple[Component, ...]] = ()
    problems: ClassVar[list[Problem]] = []

    def __init_subclass__(cls, register: bool = True, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        where = f"{cls.__module__}.{cls.__qualname__}"
        problems: list[Problem] = []
        if "name" not in cls.__dict__:
            cls.name = cls.__name__.lower()
        if "title" not in cls.__dict__:
            cls.title = cls.__name__
        if "channel" not in cls.__dict__:
            cls.channel = cls.name
        if not NAME_RE.match(cls.name):
            problems.append(
                Problem(
                    where,
                    "name",
                    f"dashboard name {cls.name!r} is not 1 to 64 of a-z 0-9 _ - (it is part of the page's URL)",
                    "dashboards_live.E020",
                )
            )
        components: list[Component] = []
        for attribute, value in vars(cls).items():
            if not isinstance(value, Component):
                continue
            if value.dashboard is not None and value.dashboard is not cls:
                problems.append(
                    Problem(
                        where,
                        attribute,
                        f"this component already belongs to {value.dashboard.__qualname__}: declare a new one",
                        "dashboards_live.E021",
                    )
                )
                continue
            value.dashboard = cls
            try:
                validate_event_name(value.key)
            except InvalidEvent as exc:
                problems.append(Problem(where, attribute, f"invalid component key: {exc}", "dashboards_live.E022"))
            components.append(value)
        cls.components = tuple(components)
        problems += _layout_problems(cls, where)
        cls.problems = problems
        if register:
            registry.add(cls)

    @classmethod
    def component(cls, key: str) -> Component | None:
        return next((c for c in cls.components if c.key == key), None)

    @classmethod
    def blocks(cls) -> list[Block]:
        """The page's sections, in order; components no section names come last, under no heading."""
        if not cls.layout:
            return [Block("", cls.components)]
        placed: set[str] = set()
        blocks = []
        for section in cls.layout:
            found = tuple(c for name in section.names if (c := cls.component(name)) is not None)
            placed.update(c.key for c in found)
            blocks.append(Block(section.heading, found))
        rest = tuple(c for c in cls.components if c.key not in placed)
        if rest:
            blocks.append(Block("", rest))
        return blocks


def _layout_problems(cls: type[Dashboard], where: str) -> list[Problem]:
    if not cls.layout:
        return []
    keys = {c.key for c in cls.components}
    problems, seen = [], set()
    for section in cls.layout:
        for name in section.names:
            if name not in keys:
                problems.append(
                    Problem(
                        where,
                        "layout",
                        f"section {section.heading!r} names {name!r}, which is not a component",
                        "dashboards_live.E023",
                    )
                )
            elif name in seen:
                problems.append(
                    Problem(where, "layout", f"{name!r} is in more than one section", "dashboards_live.E023")
                )
            seen.add(name)
    return problems


class DashboardRegistry:
    """Every declared dashboard, in declaration order (duplicates kept, for the checks to report)."""

    def __init__(self) -> None:
        self._all: list[type[Dashboard]] = []

    def add(self, dashboard: type[Dashboard]) -> None:
        # a module imported twice (autodiscovery, then a test) declares the class again
        self._all = [d for d in self._all if _path(d) != _path(dashboard)]
        self._all.append(dashboard)

    def all(self) -> list[type[Dashboard]]:
        return list(self._all)

    def get(self, name: str) -> type[Dashboard] | None:
        return next((d for d in self._all if d.name == name), None)

    def remove(self, dashboard: type[Dashboard]) -> None:
        self._all = [d for d in self._all if d is not dashboard]

    @contextmanager
    def scoped(self) -> Iterator[DashboardRegistry]:
        """Dashboards declared inside the block are forgotten after it (tests).

        The project's own are discovered first: a module first imported inside
        the block would otherwise register its dashboards only until the block ends.
        """
        autodiscover()
        before = list(self._all)
        try:
            yield self
        finally:
            self._all = before


def _path(dashboard: type[Dashboard]) -> str:
    return f"{dashboard.__module__}.{dashboard.__qualname__}"


registry = DashboardRegistry()


def autodiscover() -> DashboardRegistry:
    """Import every installed app's `dashboards` and `feeds` modules (and DASHBOARDS_FEED_MODULES)."""
    autodiscover_feeds()
    return registry


class UnknownComponent(LookupError):
    """A DASHBOARD.COMPONENT reference that names nothing declared."""


def find_component(reference: str) -> Component:
    """The component `reference` ("ops.queue": DASHBOARD.COMPONENT) names."""
    name, dot, key = reference.partition(".")
    if not dot:
        raise UnknownComponent(f"{reference!r} is not DASHBOARD.COMPONENT")
    dashboards = autodiscover()
    dashboard = dashboards.get(name)
    if dashboard is None:
        known = ", ".join(d.name for d in dashboards.all()) or "(none)"
        raise UnknownComponent(f"no dashboard named {name!r}; dashboards: {known}")
    component = dashboard.component(key)
    if component is None:
        known = ", ".join(c.key for c in dashboard.components) or "(none)"
        raise UnknownComponent(f"dashboard {name!r} has no component {key!r}; its components: {known}")
    return component
