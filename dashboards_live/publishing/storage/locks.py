"""Channel locks: one publisher of a channel at a time, across processes, from storing to posting.

PostgreSQL: advisory locks keyed by the channel's CRC-32 on Django's own
connection. SQLite (one host): a lock file beside the database.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator
from typing import TYPE_CHECKING

from dashboards_live.errors import PublishError

if TYPE_CHECKING:
    from django.db.backends.base.base import BaseDatabaseWrapper


CHANNEL_LOCKS = 0x63686E6C  # "chnl": the first key of the per-channel publish locks (an int4)
LOCK_POLL = 0.002  # seconds between attempts while another publisher holds a channel


def lock_key(text: str) -> int:
    """An advisory lock's second key for `text`: its CRC-32 as a signed int4 (PostgreSQL's int)."""
    import zlib

    value = zlib.crc32(text.encode("utf-8"))
    return value - 2**32 if value >= 2**31 else value


@contextlib.contextmanager
def advisory_locks(connection: BaseDatabaseWrapper, keys: list[int], deadline: float) -> Iterator[None]:
    taken: list[int] = []
    try:
        with connection.cursor() as cursor:
            for key in keys:  # in key order: two publishers of the same channels cannot deadlock
                while True:
                    cursor.execute("SELECT pg_try_advisory_lock(%s, %s)", [CHANNEL_LOCKS, key])
                    row = cursor.fetchone()
                    if row is not None and row[0]:
                        taken.append(key)
                        break
                    if time.monotonic() >= deadline:
                        raise PublishError("another publisher of the channel held it past the timeout")
                    time.sleep(LOCK_POLL)
        yield
    finally:
        if taken:
            with contextlib.suppress(Exception), connection.cursor() as cursor:
                for key in taken:
                    cursor.execute("SELECT pg_advisory_unlock(%s, %s)", [CHANNEL_LOCKS, key])


def lock_file(connection: BaseDatabaseWrapper) -> str | None:
    name = str(connection.settings_dict.get("NAME") or "")
    if not name or name == ":memory:" or name.startswith("file:") or "mode=memory" in name:
        return None
    return name + ".publish-lock"


@contextlib.contextmanager
def file_lock(path: str, deadline: float) -> Iterator[None]:
    import fcntl
    import os

    try:
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    except OSError as exc:
        # an unwritable database folder (or a full disk) is a publish failure the loop
        # retries with backoff and sendevent reports in one line, not a dead thread
        raise PublishError(f"cannot open the publish lock {path}: {exc.strerror or exc}") from None
    try:
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    raise PublishError("another publisher of the database held it past the timeout") from None
                time.sleep(LOCK_POLL)
        yield
    finally:
        os.close(fd)  # closing the descriptor releases the lock
