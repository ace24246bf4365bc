"""Stand-ins for unit tests only (never in a test that claims the whole path)."""

from __future__ import annotations

import contextlib
import json
from collections.abc import Callable, Sequence

from dashboards_live.clock import SYSTEM_CLOCK, Clock
from dashboards_live.contract import Event, Published
from dashboards_live.errors import PublishError
from dashboards_live.publishing.delivery import DeliveryEngine


class FakeStore:
    """Storage in a list: ids per channel, withdraws recorded; `down` makes appends fail."""

    def __init__(self, stored: bool = False) -> None:
        self.stored = stored  # False: like an unreliable channel, events get no id
        self.ids: dict[str, int] = {}
        self.appended: list[Published] = []
        self.withdrawn: list[Published] = []
        self.refreshes = 0
        self.serializations: list[list[str]] = []
        self.down = False

    def append(self, events: Sequence[Event]) -> list[Published]:
        if self.down:
            raise PublishError("could not store the event(s) in the database: down (test)")
        out = []
        for event in events:
            if self.stored:
                self.ids[event.channel] = self.ids.get(event.channel, 0) + 1
                out.append(Published(event, self.ids[event.channel]))
            else:
                out.append(Published(event, None))
        self.appended += out
        return out

    def withdraw(self, published: Sequence[Published]) -> None:
        self.withdrawn += list(published)

    def next_id(self, channel: str) -> int | None:
        return self.ids.get(channel, 0) + 1 if self.stored else None

    def refresh(self) -> None:
        self.refreshes += 1

    def serialized(self, channels: Sequence[str], timeout: float) -> contextlib.AbstractContextManager[None]:
        self.serializations.append(sorted(set(channels)))
        return contextlib.nullcontext()


class FakeTransport:
    """Pushpin in a list of request bodies; fails while `down` is set, or as `fail` decides."""

    def __init__(self, clock: Clock = SYSTEM_CLOCK, timeout: float = 5.0) -> None:
        self.clock = clock
        self.timeout = timeout
        self.down = False
        self.fail: Callable[[int], bool] = lambda attempt: False  # by attempt number, from 1
        self.hang = 0.0  # simulated seconds each post takes (never past its deadline)
        self.attempts = 0
        self.timeouts: list[float] = []  # each post's deadline, as seconds from when it started
        self.bodies: list[list[dict[str, object]]] = []
        self.kicks: list[tuple[str, str, str]] = []
        self.closed = False

    def post(self, body: bytes, deadline: float) -> None:
        self.attempts += 1
        self.timeouts.append(deadline - self.clock.now())
        if self.hang:
            self.clock.sleep(min(self.hang, deadline - self.clock.now()))
        if self.down or self.fail(self.attempts):
            raise PublishError("Pushpin is not reachable (test)")
        self.bodies.append(json.loads(body)["items"])

    def end_streams(self, user_id: str, marker: str, text: str) -> None:
        self.kicks.append((user_id, marker, text))

    def ping(self) -> None:
        if self.down:
            raise PublishError("Pushpin is not reachable (test)")

    def close(self) -> None:
        self.closed = True

    @property
    def batches(self) -> list[list[tuple[str, str]]]:
        """(event name, data) of every item Pushpin took, request by request."""
        return [[frame(item) for item in items] for items in self.bodies]

    @property
    def events(self) -> list[tuple[str, str]]:
        return [e for batch in self.batches for e in batch]


def frame(item: dict[str, object]) -> tuple[str, str]:
    """(event name, data) from a GRIP item's SSE content."""
    content = item["http-stream"]["content"]  # type: ignore[index]
    name, data = "", []
    for line in str(content).split("\n"):
        if line.startswith("event: "):
            name = line[len("event: ") :]
        elif line.startswith("data: "):
            data.append(line[len("data: ") :])
    # every frame comes escaped for Pushpin's build-id filter, which unescapes it on delivery
    return name, "\n".join(data).replace("%%", "%")


def fake_engine(clock: Clock = SYSTEM_CLOCK, *, stored: bool = False) -> DeliveryEngine:
    return DeliveryEngine(FakeStore(stored), FakeTransport(clock), clock=clock)


def sink() -> DeliveryEngine:
    """An engine that takes everything and sends nothing."""
    return fake_engine()
