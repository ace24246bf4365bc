"""docker-compose.yml's HTTP/2 front (profile "tls"): nginx with the shipped deploy/nginx config."""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.project.test_deploy import compose_command

ROOT = Path(__file__).resolve().parents[2]
SHIPPED = ROOT / "deploy" / "nginx" / "dashboards_live.conf"


def compose_config(**env: str) -> dict[str, Any]:
    full = {
        k: v for k, v in os.environ.items() if k not in ("DASHBOARDS_CERTS", "PUSHPIN_PORT", "PUSHPIN_BEHIND_PROXY")
    }
    full.update(GRIP_KEY="k", DJANGO_SECRET_KEY="s", **env)
    result = subprocess.run(
        [*compose_command(), "--profile", "tls", "config"], cwd=ROOT, env=full, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr
    import yaml

    services: dict[str, Any] = yaml.safe_load(result.stdout)["services"]
    return services


@pytest.fixture(scope="module")
def services() -> dict[str, Any]:
    """The compose config with no settings of ours (each `config` run costs seconds)."""
    return compose_config()


def published(service: dict[str, Any]) -> set[str]:
    """Host ports as "[ip:]port" (docker-compose 1.29 and v2 print mappings)."""
    out = set()
    for port in service.get("ports", []):
        if isinstance(port, dict):
            ip = port.get("host_ip")
            out.add(f"{ip}:{port['published']}" if ip else str(port["published"]))
        else:
            out.add(port.rsplit(":", 1)[0])
    return out


def volume_sources(service: dict[str, Any]) -> dict[str, str]:
    """target -> source."""
    pairs = (
        (v["target"], v["source"]) if isinstance(v, dict) else (v.split(":")[1], v.split(":")[0])
        for v in service["volumes"]
    )
    return dict(pairs)


def test_the_front_serves_the_shipped_nginx_config_on_443_and_80_before_pushpin(services: dict[str, Any]) -> None:
    front = services["front"]
    assert re.fullmatch(r"nginx:1\.\d+(\.\d+)*", front["image"]), front["image"]
    assert front["profiles"] == ["tls"]
    assert published(front) == {"443", "80"}
    volumes = volume_sources(front)
    assert Path(volumes["/config/dashboards_live.conf"]) == SHIPPED
    assert Path(volumes["/etc/nginx/certs"]) == ROOT / "deploy" / "nginx" / "certs"
    # it reaches Pushpin over the network they share, and nothing else
    assert set(front["networks"]) == {"public"}
    assert "public" in services["pushpin"]["networks"]
    assert "pushpin" in front["depends_on"]
    # without settings the rest stays the plain-HTTP try-out
    assert published(services["pushpin"]) == {"7999"}
    assert services["pushpin"]["environment"]["PUSHPIN_BEHIND_PROXY"] == "0"


def test_the_front_command_points_the_shipped_config_at_the_pushpin_service(
    services: dict[str, Any], tmp_path: Path
) -> None:
    command = services["front"]["command"]
    assert command[:2] == ["/bin/sh", "-c"]
    # run its rendering step on the shipped file, without starting nginx
    render = command[2].split("&&")[0]
    render = render.replace("/config/dashboards_live.conf", str(SHIPPED))
    render = render.replace("/etc/nginx/conf.d/default.conf", str(tmp_path / "default.conf"))
    subprocess.run(["/bin/sh", "-c", render], check=True)
    rendered = (tmp_path / "default.conf").read_text()
    assert "server pushpin:7999;" in rendered and "server 127.0.0.1:7999;" not in rendered
    assert "listen [::]" not in rendered
    assert "listen 443 ssl http2;" in rendered and "return 301 https://" in rendered
    assert "exec nginx -g 'daemon off;'" in command[2]


def test_behind_the_front_pushpin_listens_on_loopback_and_the_certificates_come_from_the_environment() -> None:
    services = compose_config(DASHBOARDS_CERTS="/srv/certs", PUSHPIN_PORT="127.0.0.1:7999", PUSHPIN_BEHIND_PROXY="1")
    assert volume_sources(services["front"])["/etc/nginx/certs"] == "/srv/certs"
    assert published(services["pushpin"]) == {"127.0.0.1:7999"}
    assert services["pushpin"]["environment"]["PUSHPIN_BEHIND_PROXY"] == "1"


def render_pushpin_conf(tmp_path: Path, behind_proxy: str) -> str:
    """deploy/docker/pushpin-entrypoint.sh run here, its folders moved into tmp_path, Pushpin not started."""
    script = (ROOT / "deploy" / "docker" / "pushpin-entrypoint.sh").read_text()
    for folder in ("/etc/pushpin", "/var/run/pushpin", "/var/log/pushpin"):
        script = script.replace(folder, str(tmp_path / folder.strip("/").replace("/", "-")))
    (tmp_path / "etc-pushpin").mkdir()
    script = script.replace("/config/pushpin.conf", str(ROOT / "pushpin" / "pushpin.conf"))
    script = script.replace("exec pushpin ", "exit 0; ")
    env = {**os.environ, "GRIP_KEY": "k", "PUSHPIN_BEHIND_PROXY": behind_proxy}
    subprocess.run(["/bin/sh", "-c", script], env=env, check=True)
    return (tmp_path / "etc-pushpin" / "pushpin.conf").read_text()


def test_behind_the_front_pushpin_takes_its_forwarded_headers(tmp_path: Path) -> None:
    (tmp_path / "alone").mkdir()
    alone = render_pushpin_conf(tmp_path / "alone", "0")
    assert "\naccept_x_forwarded_protocol=false\n" in alone
    assert "\nx_forwarded_for=truncate:1,append\n" not in alone

    (tmp_path / "behind").mkdir()
    behind = render_pushpin_conf(tmp_path / "behind", "1")
    assert "\naccept_x_forwarded_protocol=true\n" in behind
    # nginx writes one entry (the address it saw): Pushpin keeps it and appends nginx's
    assert "\nx_forwarded_for=truncate:1,append\n" in behind


def directives(conf: str) -> dict[str, list[str]]:
    """Each directive's values in the shipped file, comments dropped."""
    out: dict[str, list[str]] = {}
    for line in conf.splitlines():
        words = line.split("#", 1)[0].strip().rstrip(";").split(None, 1)
        if len(words) == 2 and not words[1].endswith("{"):
            out.setdefault(words[0], []).append(words[1])
    return out


def seconds(value: str) -> int:
    match = re.fullmatch(r"(\d+)([smhd]?)", value)
    assert match, f"not an nginx time: {value}"
    return int(match[1]) * {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}[match[2]]


def test_the_shipped_config_streams_unbuffered_and_outlasts_pushpins_keep_alive() -> None:
    # what the browser test cannot see in seconds: a stream quiet for longer than
    # a short read timeout would be cut, and buffering only shows with other backends
    found = directives(SHIPPED.read_text())
    assert found["proxy_buffering"] == ["off"] and found["proxy_cache"] == ["off"]
    assert found["proxy_http_version"] == ["1.1"]
    # Pushpin's keep-alive comes every 20 s
    assert seconds(found["proxy_read_timeout"][0]) >= 3600
    assert seconds(found["proxy_send_timeout"][0]) >= 3600
    assert found["return"] == ["301 https://$host$request_uri"]
