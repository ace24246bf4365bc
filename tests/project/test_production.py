"""Production settings (DJANGO_DEBUG=0): required variables and `check --deploy`."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
SECRET = "x" * 20 + "-a-long-enough-production-secret-key-with-variety-0123456789"


def manage(tmp_path: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    base = {
        k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "DASHBOARDS_", "GRIP_", "DATABASE_URL"))
    }
    base.update(
        DJANGO_SETTINGS_MODULE="config.settings",
        DASHBOARDS_VAR_DIR=str(tmp_path),
        GRIP_URL="http://127.0.0.1:5561?key=a-long-random-production-key&verify-iss=pushpin",
        DJANGO_DEBUG="0",
    )
    base.update(env)
    return subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env=base, capture_output=True, text=True, timeout=60
    )


def production_section() -> str:
    page = (ROOT / "docs" / "deployment.md").read_text()
    start = page.index("## Production")
    end = page.index("\n## ", start + 1)
    return page[start:end]


@pytest.mark.parametrize(
    ("env", "missing"),
    [({}, "DJANGO_SECRET_KEY"), ({"DJANGO_SECRET_KEY": SECRET}, "DJANGO_ALLOWED_HOSTS")],
)
def test_missing_production_variables_are_one_clear_line(tmp_path: Path, env: dict[str, str], missing: str) -> None:
    result = manage(tmp_path, "check", **env)
    assert result.returncode == 2
    assert result.stderr.startswith(f"Error: {missing} is required when DJANGO_DEBUG=0")
    assert len(result.stderr.strip().splitlines()) == 1


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({}, {"security.W004"}),  # HSTS stays off until the operator turns it on
        ({"DJANGO_HTTPS": "0"}, {"security.W004", "security.W008", "security.W012", "security.W016"}),
        ({"DJANGO_HSTS_SECONDS": "31536000"}, {"security.W005", "security.W021"}),
        (
            {"DJANGO_HSTS_SECONDS": "31536000", "DJANGO_HSTS_INCLUDE_SUBDOMAINS": "1", "DJANGO_HSTS_PRELOAD": "1"},
            set(),
        ),
    ],
    ids=["defaults", "plain-http", "hsts", "hsts-preload"],
)
def test_check_deploy_reports_only_what_the_readme_explains(
    tmp_path: Path, env: dict[str, str], expected: set[str]
) -> None:
    result = manage(
        tmp_path, "check", "--deploy", DJANGO_SECRET_KEY=SECRET, DJANGO_ALLOWED_HOSTS="dash.example.com", **env
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    reported = set(re.findall(r"\(([a-z_]+\.[EW]\d{3})\)", output))
    assert reported == expected, output
    explained = production_section()
    assert [i for i in reported if i not in explained] == []


def test_direct_streaming_in_production_is_a_check_warning(tmp_path: Path) -> None:
    result = manage(
        tmp_path,
        "check",
        DJANGO_SECRET_KEY=SECRET,
        DJANGO_ALLOWED_HOSTS="dash.example.com",
        DASHBOARDS_ALLOW_DIRECT_STREAMING="1",
    )
    assert "dashboards_live.W001" in result.stderr + result.stdout


@pytest.mark.django_db
def test_a_500_is_logged_with_its_traceback_to_stderr(settings: Any) -> None:
    import io
    import logging
    from unittest import mock

    from django.test import Client

    handlers = [h for h in logging.getLogger("django.request").handlers if isinstance(h, logging.StreamHandler)]
    assert handlers, "LOGGING sends django.request to a stream handler"
    captured = io.StringIO()
    previous = handlers[0].setStream(captured)
    settings.DEBUG = False
    try:
        with mock.patch("dashboards_live.web.views.last_events", side_effect=RuntimeError("forced for the test")):
            response = Client(raise_request_exception=False).get("/fragments/demo/sse_stat/")
    finally:
        handlers[0].setStream(previous)
    assert response.status_code == 500
    err = captured.getvalue()
    assert "ERROR django.request: Internal Server Error: /fragments/demo/sse_stat/" in err
    assert "Traceback" in err and "RuntimeError: forced for the test" in err
