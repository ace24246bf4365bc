"""Only dashboards_live.contrib.django_dashboards imports django-dashboards' code (and with it pandas and plotly)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
CODE = """
import json, pkgutil, sys, django

def heavy():
    # the `dashboards` package itself is only its AppConfig; its components pull pandas and plotly
    wanted = {"pandas", "plotly", "numpy", "dashboards.component", "dashboards.dashboard"}
    return sorted(wanted & {m for m in sys.modules} | wanted & {m.split(".")[0] for m in sys.modules})

django.setup()  # the contrib app installed: its ready() stays light
import dashboards_live
for module in pkgutil.walk_packages(dashboards_live.__path__, "dashboards_live."):
    if not module.name.startswith("dashboards_live.contrib.django_dashboards."):
        __import__(module.name)
before = heavy()
import numpy  # pandas and plotly bring it: the check sees what is imported
print(json.dumps([before, heavy()]))
"""


def test_the_app_and_its_modules_never_import_django_dashboards_pandas_or_plotly() -> None:
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "tests.support.ddapp.settings"}
    result = subprocess.run([sys.executable, "-c", CODE], cwd=ROOT, env=env, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    before, after = json.loads(result.stdout.splitlines()[-1])
    assert before == []
    assert after == ["numpy"]
