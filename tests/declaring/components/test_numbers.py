from __future__ import annotations

from dashboards_live.declaring.components import threshold_level


def test_threshold_level_is_empty_without_a_number() -> None:
    assert threshold_level(None, 1, 2) == ""
