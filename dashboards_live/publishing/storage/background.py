"""The one switch for storage's housekeeping threads: retention trims and SQLite WAL checkpoints.

Tests turn it off (set BACKGROUND here, the only place it lives): trims then
run on the caller's thread, inside the test's transaction, and no checkpoint
thread starts.
"""

from __future__ import annotations

BACKGROUND = True  # housekeeping runs on threads of its own (tests: trims on the caller's, no checkpoints)
