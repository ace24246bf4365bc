"""A bad setting stops every command with one line naming it, and exit 2: never a traceback."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from dashboards_live import conf
from dashboards_live.errors import ConfigError
from dashboards_live.web.channels import ChannelRules

ROOT = Path(__file__).resolve().parents[1]


def manage(tmp_path: Path, env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    full = {k: v for k, v in os.environ.items() if not k.startswith(("DASHBOARDS_", "GRIP_", "DJANGO_"))}
    full.update({"DASHBOARDS_VAR_DIR": str(tmp_path), "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}", **env})
    return subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env=full, capture_output=True, text=True, timeout=60
    )


BAD = [
    ({"GRIP_URL": "ftp://127.0.0.1:5561?key=k"}, "GRIP_URL"),
    ({"GRIP_URL": "http://127.0.0.1:port?key=k"}, "GRIP_URL"),
    ({"DASHBOARDS_PUBLISH_URLS": "127.0.0.1:5561"}, "DASHBOARDS_PUBLISH_URLS"),
    ({"DASHBOARDS_CHANNELS": "ops=everyone"}, "DASHBOARDS_CHANNELS"),
    ({"DASHBOARDS_CHANNELS": "ops"}, "DASHBOARDS_CHANNELS"),
    ({"DASHBOARDS_PUBLISH_TIMEOUT": "soon"}, "DASHBOARDS_PUBLISH_TIMEOUT"),
    ({"DASHBOARDS_MAX_DATA_BYTES": "0"}, "DASHBOARDS_MAX_DATA_BYTES"),
]


@pytest.mark.parametrize(("env", "variable"), BAD, ids=[f"{v}-{i}" for i, (_, v) in enumerate(BAD)])
def test_a_bad_setting_is_one_line_naming_it_and_exit_2(tmp_path: Path, env: dict[str, str], variable: str) -> None:
    result = manage(tmp_path, env, "sendevent", "demo", "notice", "hello")
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and variable in lines[0] and "Traceback" not in result.stderr


@pytest.mark.parametrize(
    "args",
    [
        ["runeventloop", "--once"],
        ["demo_feed", "--iterations", "1"],
        ["sendevent", "demo", "notice", "x", "--dry-run"],
        ["check"],
        ["migrate"],
    ],
)
def test_every_command_refuses_a_bad_grip_url_the_same_way(tmp_path: Path, args: list[str]) -> None:
    result = manage(tmp_path, {"GRIP_URL": "http://?key=k"}, *args)
    assert result.returncode == 2, result.stderr
    assert result.stderr.strip().splitlines() == [result.stderr.strip()] and "GRIP_URL" in result.stderr


@pytest.mark.parametrize(
    ("name", "value"),
    [("GRIP_URL", ""), ("GRIP_URL", "not a url"), ("GRIP_URL", "http://:5561"), ("GRIP_URL", 5561)],
)
def test_targets_name_the_setting(settings, name: str, value: object) -> None:
    setattr(settings, name, value)
    with pytest.raises(ConfigError) as info:
        conf.publish_targets()
    assert info.value.setting == "GRIP_URL" and str(info.value).startswith("GRIP_URL: ")


def test_extra_publish_urls_are_checked_one_by_one(settings) -> None:
    settings.DASHBOARDS_PUBLISH_URLS = ["http://127.0.0.1:5571?key=k", "https//nohost"]
    with pytest.raises(ConfigError) as info:
        conf.publish_targets()
    assert info.value.setting == "DASHBOARDS_PUBLISH_URLS"


def test_a_good_configuration_passes_and_parses(settings) -> None:
    settings.GRIP_URL = "http://127.0.0.1:5561?key=k&iss=me"
    settings.DASHBOARDS_PUBLISH_URLS = ["https://pushpin-2.internal/x/?key=k"]
    first, second = conf.publish_targets()
    assert (first.host, first.port, first.key) == ("127.0.0.1", 5561, "k")
    assert (second.scheme, second.port, second.path) == ("https", 443, "/x")
    conf.check()


@pytest.mark.parametrize("value", [0, -1, float("nan"), float("inf"), "5", True])
def test_the_publish_timeout_is_a_positive_number(settings, value: object) -> None:
    settings.DASHBOARDS_PUBLISH_TIMEOUT = value
    with pytest.raises(ConfigError, match="DASHBOARDS_PUBLISH_TIMEOUT"):
        conf.publish_timeout()


@pytest.mark.parametrize("raw", ["abc", "0", "70000", "", "-1"])
def test_ports_are_checked(raw: str) -> None:
    with pytest.raises(ConfigError, match="--http-port"):
        conf.port("--http-port", raw)
    assert conf.port("--http-port", " 7999 ") == 7999


def test_channel_rules_are_checked(settings) -> None:
    settings.DASHBOARDS_CHANNELS = {"demo": "public", "ops.*": "group:"}
    with pytest.raises(ConfigError, match=r"DASHBOARDS_CHANNELS: 'ops\.\*'"):
        ChannelRules.checked()
    settings.DASHBOARDS_CHANNELS = {"demo": "public", "ops.*": "staff"}
    assert ChannelRules.checked().rule_for("ops.db") == "staff"
