"""Pushpin is restarted wherever it is deployed: systemd and docker compose."""

from __future__ import annotations

from configparser import ConfigParser
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
UNIT = ROOT / "deploy" / "systemd" / "dashboards-pushpin.service"


def unit() -> ConfigParser:
    parser = ConfigParser(strict=False, interpolation=None)
    parser.optionxform = str  # type: ignore[assignment,method-assign]
    parser.read_string(UNIT.read_text())
    return parser


def test_the_pushpin_unit_runs_runpushpin_and_restarts_it_whatever_its_exit() -> None:
    service = unit()["Service"]
    assert service["ExecStart"].endswith("manage.py runpushpin")
    assert service["Restart"] == "always"
    assert float(service["RestartSec"]) > 0
    assert service["RestartPreventExitStatus"] == "2"
    # SIGTERM to runpushpin alone, which stops Pushpin's processes in order
    assert service["KillSignal"] == "SIGTERM"
    assert service["KillMode"] == "mixed"
    assert unit()["Unit"]["Conflicts"] == "pushpin.service"


def test_compose_restarts_pushpin_after_a_clean_exit_too() -> None:
    # the file as written (tests/project/test_deploy.py checks `docker compose config` accepts it)
    import yaml

    services = yaml.safe_load((ROOT / "docker-compose.yml").read_text())["services"]
    assert services["pushpin"]["restart"] in ("always", "unless-stopped")
