"""The app's templates live under dashboards_live/ names: another app's templates and ours never shadow each other."""

from __future__ import annotations

from typing import Any

import pytest
from django.template.loader import render_to_string
from django.test import Client

from dashboards_live.declaring.demo import Demo

SHADOW = "tests.support.shadowapp"


@pytest.fixture
def with_shadow_app(settings: Any) -> None:
    # listed before ours, so its templates would win any name we shared with it
    apps = [a for a in settings.INSTALLED_APPS if a != "dashboards_live"]
    settings.INSTALLED_APPS = [*apps[:-1], SHADOW, apps[-1], "dashboards_live"]


@pytest.mark.django_db
@pytest.mark.usefixtures("with_shadow_app")
def test_the_other_apps_templates_render_their_own() -> None:
    assert 'id="shadow-dashboard"' in render_to_string("dashboards/dashboard.html")
    assert 'id="shadow-stat"' in render_to_string("components/stat.html")


@pytest.mark.django_db
@pytest.mark.usefixtures("with_shadow_app")
def test_our_pages_and_components_render_ours(client: Client) -> None:
    page = client.get("/dashboards/demo/").content.decode()
    assert "shadow" not in page
    assert 'class="dashboard"' in page and "data-live-stream" in page
    assert 'class="stat' in Demo.sse_stat.render({"text": "1"})


def test_every_template_the_app_ships_is_under_its_own_name() -> None:
    from pathlib import Path

    import dashboards_live

    root = Path(dashboards_live.__file__).parent / "templates"
    names = [p.relative_to(root).as_posix() for p in root.rglob("*.html")]
    assert names and all(name.startswith("dashboards_live/") for name in names)


@pytest.mark.django_db
def test_a_projects_own_base_template_restyles_every_page(client: Client, settings: Any, tmp_path: Any) -> None:
    folder = tmp_path / "dashboards_live"
    folder.mkdir()
    (folder / "base.html").write_text(
        '<html><head><title>{% block title %}{% endblock %}</title></head><body class="house-style">'
        "{% block content %}{% endblock %}</body></html>"
    )
    settings.TEMPLATES = [{**settings.TEMPLATES[0], "DIRS": [tmp_path, *settings.TEMPLATES[0]["DIRS"]]}]
    for url in ("/dashboards/", "/dashboards/demo/"):
        assert 'class="house-style"' in client.get(url).content.decode()
