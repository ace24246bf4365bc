"""bin/screenshot, the README's picture of the real demo dashboard, keeps working."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from tests.support.stack import PYTHON, ROOT, require

pytestmark = pytest.mark.browser


def test_the_screenshot_script_saves_the_live_demo_page(tmp_path: Path) -> None:
    require("chromium", "the screenshot is taken by Debian's Chromium")
    require("pushpin", "the screenshot is of the page served through Pushpin")
    out = tmp_path / "demo.png"
    result = subprocess.run(
        [PYTHON, "bin/screenshot", "--out", str(out), "--seconds", "2"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    data = out.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")
    assert width == 1280 and height >= 800
