from __future__ import annotations

import pytest

from dashboards_live.declaring.components import InvalidValue, Table

HOSTILE = '"><script>alert(1)</script>'


def test_table_renders_caption_headers_and_rows() -> None:
    html = Table("t", title="Slowest jobs", columns=["job", "seconds"]).render([["a", 1.5], ("b", 2)])
    assert "<caption>Slowest jobs</caption>" in html
    assert '<th scope="col">job</th>' in html
    assert '<tr><td>a</td><td class="num">1.5</td></tr>' in html


def test_table_right_aligns_the_heading_of_a_column_of_numbers() -> None:
    html = Table("t", columns=["job", "seconds"]).render([["a", 1.5], ["b", None]])
    assert '<th scope="col">job</th><th scope="col" class="num">seconds</th>' in html


def test_table_dict_rows_leave_missing_cells_empty() -> None:
    html = Table("t", columns=["job", "seconds"]).render([{"job": "a"}])
    assert "<tr><td>a</td><td></td></tr>" in html


def test_table_dict_rows_with_unknown_columns_are_refused() -> None:
    with pytest.raises(InvalidValue, match="unknown column"):
        Table("t", columns=["job"]).next_state(None, [{"jb": "a"}])


def test_table_rows_need_one_cell_per_column() -> None:
    with pytest.raises(InvalidValue):
        Table("t", columns=["job", "seconds"]).next_state(None, [["a"]])


@pytest.mark.parametrize("cell", [True, float("nan"), ["x"], {"a": 1}])
def test_table_cells_are_strings_numbers_or_null(cell: object) -> None:
    with pytest.raises(InvalidValue):
        Table("t", columns=["a"]).next_state(None, [[cell]])


def test_table_keeps_max_rows_and_counts_the_rest() -> None:
    table = Table("t", columns=["n"], max_rows=2)
    state = table.next_state(None, [[1], [2], [3], [4]])
    assert state == {"rows": [[1], [2]], "more": 2}
    assert '<p class="table-more">… and 2 more</p>' in table.render(state)


def test_empty_table_says_no_rows() -> None:
    assert "No rows" in Table("t", columns=["n"]).render([])


def test_table_escapes_title_columns_and_cells() -> None:
    html = Table("t", title=HOSTILE, columns=[HOSTILE]).render([[HOSTILE]])
    assert "<script>" not in html and html.count("&lt;script&gt;") == 3


@pytest.mark.parametrize("columns", [[], ["a", "a"], [""], "ab"])
def test_table_columns_are_unique_names(columns: object) -> None:
    with pytest.raises(ValueError):
        Table("t", columns=columns)  # type: ignore[arg-type]


def test_table_max_rows_is_at_least_one() -> None:
    with pytest.raises(ValueError):
        Table("t", columns=["a"], max_rows=0)
