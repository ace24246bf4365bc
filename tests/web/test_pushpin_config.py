from __future__ import annotations

import configparser
from pathlib import Path

import pytest

from dashboards_live.web.pushpin import PushpinSettings, render_config

ROOT = Path(__file__).resolve().parents[2]


def settings(**changes: object) -> PushpinSettings:
    values: dict[str, object] = dict(
        http_port="7999",
        publish_port=5561,
        port_offset=0,
        sig_key="k3y",
        rundir=Path("/r"),
        logdir=Path("/l"),
        routes=Path("/routes"),
    )
    values.update(changes)
    return PushpinSettings(**values)  # type: ignore[arg-type]


def parse(text: str) -> configparser.ConfigParser:
    parser = configparser.ConfigParser(interpolation=None)
    parser.read_string(text)
    return parser


def test_rendered_config_carries_key_ports_and_folders() -> None:
    conf = parse(
        render_config((ROOT / "pushpin/pushpin.conf").read_text(), settings(port_offset=100, publish_port=5661))
    )
    assert conf["proxy"]["sig_key"] == "k3y"
    assert conf["handler"]["push_in_http_port"] == "5561"  # Pushpin adds the offset
    assert conf["global"]["port_offset"] == "100"
    assert conf["global"]["rundir"] == "/r"
    assert conf["proxy"]["routesfile"] == "/routes"


def test_shipped_config_binds_publish_and_zmq_to_loopback_only() -> None:
    conf = parse((ROOT / "pushpin/pushpin.conf").read_text())
    assert conf["handler"]["push_in_http_addr"] == "127.0.0.1"
    for key in ("push_in_spec", "push_in_sub_specs", "command_spec"):
        assert conf["handler"][key].startswith("tcp://127.0.0.1:")


def test_shipped_config_lifts_the_message_rate_limit_and_raises_hwm_above_stock() -> None:
    conf = parse((ROOT / "pushpin/pushpin.conf").read_text())
    # any rate limit stalls delivery while publishes keep coming (see the config's comment)
    assert int(conf["handler"]["message_rate"]) <= 0
    assert int(conf["handler"]["message_hwm"]) > 25000


def test_stock_key_is_refused() -> None:
    with pytest.raises(ValueError):
        render_config((ROOT / "pushpin/pushpin.conf").read_text(), settings(sig_key="changeme"))
