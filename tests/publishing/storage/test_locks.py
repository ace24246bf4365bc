from __future__ import annotations

import time
from pathlib import Path

import pytest

from dashboards_live.errors import PublishError
from dashboards_live.publishing.storage.locks import file_lock


def test_the_publish_lock_file_keeps_a_second_publisher_out_until_the_first_is_done(tmp_path: Path) -> None:
    path = str(tmp_path / "db.sqlite3.publish-lock")
    with (
        file_lock(path, time.monotonic() + 1),
        pytest.raises(PublishError, match="held it past the timeout"),
        file_lock(path, time.monotonic() + 0.05),
    ):
        pass
    with file_lock(path, time.monotonic() + 0.05):
        pass  # free again


@pytest.mark.parametrize("where", ["a folder", "a missing folder"])
def test_a_lock_file_that_cannot_be_opened_is_a_publish_error(tmp_path: Path, where: str) -> None:
    # a folder stands in for chmod 000, which root (CI) is not stopped by
    path = tmp_path if where == "a folder" else tmp_path / "gone" / "db.sqlite3.publish-lock"
    with pytest.raises(PublishError, match="cannot open the publish lock"), file_lock(str(path), time.monotonic() + 1):
        pass
