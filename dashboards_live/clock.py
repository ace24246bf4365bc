"""Time, passed in: the scheduler and the delivery engine read it only through a Clock.

SystemClock is the real one. Unit tests hand in tests.support.clock.SimClock,
whose time moves only when the code under test sleeps or waits, so they run in
simulated time and never depend on how busy the machine is.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Protocol


class Clock(Protocol):
    def now(self) -> float:
        """Monotonic seconds."""
        ...

    def sleep(self, seconds: float) -> None: ...

    def wait(self, cond: threading.Condition, predicate: Callable[[], bool], timeout: float) -> bool:
        """Wait on `cond` (held by the caller) until `predicate()` or `timeout` seconds; returns predicate()."""
        ...


class SystemClock:
    def now(self) -> float:
        return time.monotonic()

    def sleep(self, seconds: float) -> None:
        if seconds > 0:
            time.sleep(seconds)

    def wait(self, cond: threading.Condition, predicate: Callable[[], bool], timeout: float) -> bool:
        return cond.wait_for(predicate, max(timeout, 0.0))


SYSTEM_CLOCK = SystemClock()
