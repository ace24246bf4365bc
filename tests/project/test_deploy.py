from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def compose_command() -> list[str]:
    if shutil.which("docker") and subprocess.run(["docker", "compose", "version"], capture_output=True).returncode == 0:
        return ["docker", "compose"]
    if shutil.which("docker-compose"):
        return ["docker-compose"]
    message = "NO DOCKER COMPOSE CLIENT (docker compose or docker-compose): cannot check docker-compose.yml"
    if os.environ.get("DASHBOARDS_TEST_STRICT") == "1":
        pytest.fail(message)
    pytest.skip(message)


def test_compose_file_is_valid_and_publishes_only_the_client_port() -> None:
    env = {**os.environ, "GRIP_KEY": "k", "DJANGO_SECRET_KEY": "s"}
    result = subprocess.run([*compose_command(), "config"], cwd=ROOT, env=env, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    import yaml

    config = yaml.safe_load(result.stdout)
    services = config["services"]
    # the TLS front (profile "tls", tests/project/test_deploy_front.py) is listed by
    # docker-compose 1.29 whatever the profile, and by docker compose v2 only with it
    services.pop("front", None)
    assert set(services) == {"postgres", "pushpin", "web", "feed", "stats"}
    published = [p for s in services.values() for p in s.get("ports", [])]
    assert len(published) == 1
    port = published[0]
    assert (port["published"] if isinstance(port, dict) else port.split(":")[0]) in (7999, "7999")
    assert "GRIP_URL" in services["web"]["environment"]
    # web, feed and Pushpin's publish/ZMQ ports meet only on the internal network
    assert config["networks"]["internal"]["internal"] is True
    assert set(services["web"]["networks"]) == set(services["feed"]["networks"]) == {"internal"}
    assert set(services["stats"]["networks"]) == {"internal"}
    assert "internal" in services["pushpin"]["networks"]
    assert set(services["postgres"]["networks"]) == {"internal"}


def test_compose_file_runs_web_and_feed_on_postgres_once_it_is_healthy() -> None:
    env = {**os.environ, "GRIP_KEY": "k", "DJANGO_SECRET_KEY": "s", "POSTGRES_PASSWORD": "pw-1"}
    env.pop("DATABASE_URL", None)
    result = subprocess.run([*compose_command(), "config"], cwd=ROOT, env=env, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    import yaml

    services = yaml.safe_load(result.stdout)["services"]
    postgres = services["postgres"]
    assert re.fullmatch(r"postgres:1[67](\.\d+)*", postgres["image"]), postgres["image"]
    assert postgres["environment"]["POSTGRES_PASSWORD"] == "pw-1"
    assert "pg_isready" in " ".join(postgres["healthcheck"]["test"])
    # the data outlives the container: a named volume (1.29 prints "name:target:rw", v2 a mapping)
    targets = [v["target"] if isinstance(v, dict) else v.split(":")[1] for v in postgres["volumes"]]
    assert "/var/lib/postgresql/data" in targets
    user, database = postgres["environment"]["POSTGRES_USER"], postgres["environment"]["POSTGRES_DB"]
    for name in ("web", "feed"):
        assert services[name]["environment"]["DATABASE_URL"] == f"postgres://{user}:pw-1@postgres:5432/{database}"
        assert services[name]["depends_on"]["postgres"]["condition"] == "service_healthy"


def test_compose_file_has_a_local_default_postgres_password() -> None:
    env = {k: v for k, v in os.environ.items() if k not in ("POSTGRES_PASSWORD", "DATABASE_URL")}
    env.update(GRIP_KEY="k", DJANGO_SECRET_KEY="s")
    result = subprocess.run([*compose_command(), "config"], cwd=ROOT, env=env, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    import yaml

    services = yaml.safe_load(result.stdout)["services"]
    password = services["postgres"]["environment"]["POSTGRES_PASSWORD"]
    assert password and f":{password}@postgres:5432/" in services["web"]["environment"]["DATABASE_URL"]


def test_compose_file_requires_the_signing_key() -> None:
    env = {k: v for k, v in os.environ.items() if k not in ("GRIP_KEY", "DJANGO_SECRET_KEY")}
    result = subprocess.run([*compose_command(), "config", "-q"], cwd=ROOT, env=env, capture_output=True, text=True)
    assert result.returncode != 0
    assert "GRIP_KEY" in result.stderr or "DJANGO_SECRET_KEY" in result.stderr


def test_procfile_has_exactly_pushpin_web_feed_and_stats() -> None:
    lines = [line for line in (ROOT / "Procfile").read_text().splitlines() if line.strip()]
    assert [line.split(":", 1)[0] for line in lines] == ["pushpin", "web", "feed", "stats"]
    assert "127.0.0.1:8000" in dict(line.split(":", 1) for line in lines)["web"]


def test_the_compose_pushpin_sends_its_stats_where_the_stats_service_reads_them(tmp_path: Path) -> None:
    import yaml

    from tests.project.test_deploy_front import render_pushpin_conf

    conf = render_pushpin_conf(tmp_path, "0")
    assert "\nstats_spec=tcp://0.0.0.0:5564\n" in conf and "\nstats_format=json\n" in conf
    stats = yaml.safe_load((ROOT / "docker-compose.yml").read_text())["services"]["stats"]
    assert "runpushpinstats --stats-spec tcp://pushpin:5564" in stats["command"]
