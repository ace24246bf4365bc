"""Table: rows under named columns, replaced whole by each value."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from dashboards_live.declaring.components.base import Component, InvalidValue, is_number, shown

Row = list[str | int | float | None]


def _cell(value: Any) -> str | int | float | None:
    if value is None or isinstance(value, str) or is_number(value):
        return value
    raise InvalidValue(f"a Table cell is a string, a finite number or null, not {shown(value)}")


@dataclass(frozen=True)
class Cell:
    text: str
    numeric: bool


def _numbers_only(cells: Sequence[Cell]) -> bool:
    filled = [cell for cell in cells if cell.text]
    return bool(filled) and all(cell.numeric for cell in filled)


class Table(Component):
    """Rows under named columns, replaced whole by each value."""

    template_name = "dashboards_live/components/table.html"
    kind = "table"

    def __init__(
        self,
        key: str | None = None,
        *,
        columns: Sequence[str],
        title: str = "",
        max_rows: int = 10,
        width: int = 1,
        poll_rate: float | None = None,
        stale_after: float | None = None,
    ) -> None:
        super().__init__(key, title=title, width=width, poll_rate=poll_rate, stale_after=stale_after)
        if isinstance(columns, str) or not isinstance(columns, Sequence) or not columns:
            raise ValueError("columns is a non-empty list of names, such as ['job', 'seconds']")
        if not all(isinstance(c, str) and c for c in columns) or len(set(columns)) != len(columns):
            raise ValueError(f"column names must be unique non-empty strings: {list(columns)!r}")
        if isinstance(max_rows, bool) or not isinstance(max_rows, int) or max_rows < 1:
            raise ValueError(f"max_rows is at least 1, not {max_rows!r}")
        self.columns: tuple[str, ...] = tuple(columns)
        self.max_rows = max_rows

    def row(self, value: Any) -> Row:
        if isinstance(value, dict):
            unknown = set(value) - set(self.columns)
            if unknown:
                raise InvalidValue(
                    f"unknown column(s) {', '.join(sorted(map(str, unknown)))}"
                    f" (the table has {', '.join(self.columns)})"
                )
            return [_cell(value.get(column)) for column in self.columns]
        if isinstance(value, list | tuple):
            if len(value) != len(self.columns):
                raise InvalidValue(f"a row has {len(self.columns)} cells (one per column), not {len(value)}")
            return [_cell(cell) for cell in value]
        raise InvalidValue("a Table row is a list of cells or an object keyed by column name")

    def next_state(self, previous: Any, value: Any, at: float | None = None) -> dict[str, Any]:
        """A list of rows; the first max_rows are kept and the rest counted."""
        if not isinstance(value, list | tuple):
            raise InvalidValue("a Table value is a list of rows")
        rows = [self.row(row) for row in value]
        return {"rows": rows[: self.max_rows], "more": max(len(rows) - self.max_rows, 0)}

    def context(self, state: Any) -> dict[str, Any]:
        if isinstance(state, dict):
            more = state.get("more", 0)
            if not isinstance(more, int) or isinstance(more, bool) or more < 0:
                raise InvalidValue('a Table state\'s "more" is a count of rows')
            shown = self.next_state(None, state.get("rows", []))
            more += shown["more"]
        else:
            shown = self.next_state(None, state)
            more = shown["more"]
        rows = [
            [Cell("" if c is None else str(c), not isinstance(c, str) and c is not None) for c in r]
            for r in shown["rows"]
        ]
        # a column of numbers is right-aligned, its heading with it
        headings = [Cell(column, _numbers_only([row[i] for row in rows])) for i, column in enumerate(self.columns)]
        return {"rows": rows, "more": more, "headings": headings}
