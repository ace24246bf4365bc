"""What the loop tells its operator: status lines, a live line on a terminal.

Every `--status-every` seconds a summary line goes to the log (stderr) with the
counters of each feed. On a terminal a live line at the bottom is redrawn every
second instead, and log records print above it.
"""

from __future__ import annotations

import shutil
import threading
from collections.abc import Mapping
from typing import TextIO

from dashboards_live.running.loop import FeedStats

CLEAR_LINE = "\r\x1b[2K"


def _ms(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f}ms"


def totals(stats: Mapping[str, FeedStats], pending: int) -> str:
    values = list(stats.values())
    ha = [s for s in values if s.held is not None]
    holding = f"holding {sum(1 for s in ha if s.held)} of {len(ha)}, " if ha else ""
    return (
        f"{len(values)} feed{'s' if len(values) != 1 else ''}, {holding}"
        f"{sum(s.ticks for s in values)} ticks, {sum(s.events for s in values)} events, "
        f"{sum(s.failures for s in values)} failures, {sum(s.publish_failures for s in values)} publish failures, "
        f"{sum(s.skipped for s in values)} skipped, {pending} pending"
    )


def _holder(stats: FeedStats) -> str:
    """--ha: "(held)" or "(standby)" after a feed's name; nothing without --ha."""
    return "" if stats.held is None else " (held)" if stats.held else " (standby)"


def summary_line(stats: Mapping[str, FeedStats], pending: int, elapsed: float) -> str:
    """One line for the log: totals, then each feed's counters."""
    feeds = "; ".join(
        f"{name}{_holder(s)} ticks={s.ticks} events={s.events} failures={s.failures} skipped={s.skipped} "
        f"latency={_ms(s.last_latency_ms)}"
        for name, s in stats.items()
    )
    return f"status after {elapsed:.0f} s: {totals(stats, pending)} | {feeds}"


def live_line(stats: Mapping[str, FeedStats], pending: int, elapsed: float, width: int) -> str:
    """A compact line for a terminal, cut to its width: per feed ticks/events/failures/skipped, latency."""
    values = list(stats.values())
    head = (
        f"[{elapsed:6.0f}s] ticks {sum(s.ticks for s in values)} events {sum(s.events for s in values)} "
        f"fail {sum(s.failures + s.publish_failures for s in values)} skip {sum(s.skipped for s in values)} "
        f"pending {pending}"
    )
    feeds = " | ".join(
        f"{name}{_holder(s)} {s.ticks}/{s.events}/{s.failures}/{s.skipped} {_ms(s.last_latency_ms)}"
        for name, s in stats.items()
    )
    line = f"{head} | {feeds}"
    return line if len(line) <= width else line[: max(width - 1, 0)] + "…"


class LiveLine:
    """A stream wrapper for a terminal: writes go above a line that stays at the bottom."""

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream
        self.text = ""
        self.lock = threading.Lock()

    @property
    def width(self) -> int:
        return shutil.get_terminal_size().columns

    def write(self, text: str) -> int:
        with self.lock:
            if self.text:
                self.stream.write(CLEAR_LINE)
            self.stream.write(text)
            if self.text and text.endswith("\n"):
                self.stream.write(self.text)
            self.stream.flush()
        return len(text)

    def flush(self) -> None:
        with self.lock:
            self.stream.flush()

    def show(self, text: str) -> None:
        with self.lock:
            self.text = text
            self.stream.write(CLEAR_LINE + text)
            self.stream.flush()

    def clear(self) -> None:
        with self.lock:
            if self.text:
                self.stream.write(CLEAR_LINE)
                self.stream.flush()
            self.text = ""

    def isatty(self) -> bool:
        return True
