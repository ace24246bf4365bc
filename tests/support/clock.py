"""Simulated time for unit tests: it moves only when the code under test sleeps or waits."""

from __future__ import annotations

import heapq
import itertools
import threading
from collections.abc import Callable


class SimClock:
    def __init__(self, start: float = 1000.0) -> None:
        self.t = start
        self._at: list[tuple[float, int, Callable[[], None]]] = []
        self._order = itertools.count()

    def now(self) -> float:
        return self.t

    def at(self, when: float, action: Callable[[], None]) -> None:
        """Run `action` once simulated time reaches `when` (absolute)."""
        heapq.heappush(self._at, (when, next(self._order), action))

    def after(self, seconds: float, action: Callable[[], None]) -> None:
        self.at(self.t + seconds, action)

    def advance(self, seconds: float) -> None:
        """Let `seconds` pass, running what was scheduled in between at its own time."""
        target = self.t + max(seconds, 0.0)
        while self._at and self._at[0][0] <= target:
            when, _, action = heapq.heappop(self._at)
            self.t = max(self.t, when)
            action()
        self.t = target

    def sleep(self, seconds: float) -> None:
        self.advance(seconds)

    def wait(self, cond: threading.Condition, predicate: Callable[[], bool], timeout: float) -> bool:
        if predicate():
            return True
        self.advance(timeout)
        return predicate()
