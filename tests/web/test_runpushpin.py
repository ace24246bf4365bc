from __future__ import annotations

import configparser
import contextlib
import http.client
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.core.management.base import CommandError

from dashboards_live.errors import ConfigError, PushpinError
from dashboards_live.management.base import exit_codes
from dashboards_live.web import pushpin
from tests.support.stack import free_port, require, stop, wait_listening

ROOT = Path(__file__).resolve().parents[2]
GRIP_URL = "http://127.0.0.1:5561?key=k3y&verify-iss=pushpin"


def plan(**changes: object) -> pushpin.Instance:
    values: dict[str, object] = {"instance_dir": Path("/srv/pp"), "environ": {}}
    values.update(changes)
    grip_url = values.pop("grip_url", GRIP_URL)
    return pushpin.plan_instance(grip_url, **values)  # type: ignore[arg-type]


def refused(**changes: object) -> ConfigError:
    with pytest.raises(ConfigError) as info:
        plan(**changes)
    return info.value


def parse(path: Path) -> configparser.ConfigParser:
    parser = configparser.ConfigParser(interpolation=None)
    parser.read_string(path.read_text())
    return parser


@pytest.fixture
def short_dir() -> Iterator[Path]:
    """An instance folder short enough for Pushpin's unix sockets (tmp_path often is not)."""
    path = Path(tempfile.mkdtemp(prefix="rp-"))
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


@pytest.fixture
def listening() -> Iterator[int]:
    """A port something listens on, on 127.0.0.1."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        yield int(sock.getsockname()[1])


# -- planning -------------------------------------------------------------


def test_plan_takes_key_and_publish_port_from_grip_url() -> None:
    instance = plan(grip_url="http://localhost:6001?key=s3cret")
    assert instance.settings.sig_key == "s3cret"
    assert instance.settings.publish_port == 6001


def test_plan_puts_every_file_in_the_instance_folder() -> None:
    instance = plan(instance_dir=Path("/srv/pp"))
    assert instance.conf == Path("/srv/pp/pushpin.conf")
    assert instance.settings.rundir == Path("/srv/pp/run")
    assert instance.settings.logdir == Path("/srv/pp/log")
    assert instance.settings.routes == Path("/srv/pp/routes")


def test_plan_defaults_to_port_7999_and_the_local_web_process() -> None:
    instance = plan()
    assert (instance.settings.http_port, instance.client_port) == ("7999", 7999)
    assert instance.web == "127.0.0.1:8000"


def test_http_port_may_name_the_address_to_listen_on() -> None:
    instance = plan(http_port="0.0.0.0:8001")
    assert instance.settings.http_port == "0.0.0.0:8001"
    assert instance.client_port == 8001


def test_port_offset_shifts_zmq_ports_and_keeps_the_publish_port() -> None:
    instance = plan(port_offset="10")
    assert instance.ports == [7999, 5561, 5570, 5572, 5573]


@pytest.mark.parametrize("value", ["abc", "0", "70000", "a:b", "1.2.3:80", "127.0.0.1:", ""])
def test_a_bad_http_port_is_refused_naming_the_option(value: str) -> None:
    assert refused(http_port=value).setting == "--http-port"


def test_http_port_comes_from_the_environment_when_not_given() -> None:
    assert plan(environ={"PUSHPIN_HTTP_PORT": "8002"}).client_port == 8002


def test_a_bad_http_port_from_the_environment_names_the_variable() -> None:
    assert refused(environ={"PUSHPIN_HTTP_PORT": "abc"}).setting == "PUSHPIN_HTTP_PORT"


def test_the_option_wins_over_the_environment() -> None:
    assert plan(http_port="8003", environ={"PUSHPIN_HTTP_PORT": "abc"}).client_port == 8003


def test_an_http_port_pushpin_already_uses_is_refused() -> None:
    assert refused(http_port="5561").setting == "--http-port"


@pytest.mark.parametrize("value", ["127.0.0.1", "127.0.0.1:x", "host:0", "a b:80", ":8000", "h:8000\n* evil:1"])
def test_a_bad_web_address_is_refused_naming_the_option(value: str) -> None:
    assert refused(web=value).setting == "--web"


def test_a_bad_web_address_from_the_environment_names_the_variable() -> None:
    assert refused(environ={"DASHBOARDS_WEB_ADDR": "nope"}).setting == "DASHBOARDS_WEB_ADDR"


def test_web_comes_from_the_environment_when_not_given() -> None:
    assert plan(environ={"DASHBOARDS_WEB_ADDR": "web.internal:9000"}).web == "web.internal:9000"


@pytest.mark.parametrize("value", ["-1", "x", "1.5", "70000", True])
def test_a_bad_port_offset_is_refused(value: object) -> None:
    assert refused(port_offset=value).setting == "--port-offset"


@pytest.mark.parametrize(
    "url",
    [
        "not a url",
        "",
        None,
        "http://127.0.0.1:abc?key=k",
        "http://127.0.0.1:5561",  # no key
        "http://127.0.0.1:5561?key=changeme",
        "http://10.0.0.5:5561?key=k",  # not this host's Pushpin
        "https://127.0.0.1:5561?key=k",  # Pushpin's publish port is plain HTTP
        "http://127.0.0.1:5560?key=k",  # one of its ZMQ ports
    ],
)
def test_a_grip_url_runpushpin_cannot_serve_is_refused(url: object) -> None:
    assert refused(grip_url=url).setting == "GRIP_URL"


def test_an_instance_folder_too_long_for_unix_sockets_is_refused() -> None:
    assert refused(instance_dir=Path("/tmp/" + "x" * 80)).setting == "--instance-dir"


def test_a_default_instance_folder_too_long_names_the_var_dir(settings: Any) -> None:
    settings.DASHBOARDS_VAR_DIR = Path("/tmp/" + "x" * 80)
    assert refused(instance_dir=None).setting == "DASHBOARDS_VAR_DIR"


# -- writing, ports, command line ---------------------------------------------


def test_written_config_carries_the_plan_and_its_overrides(short_dir: Path) -> None:
    instance = plan(
        grip_url="http://127.0.0.1:6100?key=s3cret",
        instance_dir=short_dir,
        port_offset=20,
        web="127.0.0.1:9001",
        overrides={("handler", "message_rate"): "2500"},
    )
    pushpin.write_instance(ROOT / "pushpin/pushpin.conf", instance.settings, instance.conf, instance.web)
    conf = parse(instance.conf)
    assert conf["proxy"]["sig_key"] == "s3cret"
    assert int(conf["handler"]["push_in_http_port"]) + int(conf["global"]["port_offset"]) == 6100
    assert conf["handler"]["message_rate"] == "2500"
    assert instance.settings.routes.read_text() == "* 127.0.0.1:9001\n"


def test_a_taken_port_is_a_runtime_error_naming_it(listening: int) -> None:
    with pytest.raises(PushpinError, match=str(listening)):
        pushpin.check_ports_free(plan(http_port=str(listening)))


def test_free_ports_pass() -> None:
    pushpin.check_ports_free(plan(grip_url=f"http://127.0.0.1:{free_port()}?key=k", http_port=str(free_port())))


def test_argv_runs_pushpin_in_the_foreground_with_the_instance_config(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(shutil, "which", lambda name: f"/opt/bin/{name}")
    assert pushpin.argv(plan()) == ["/opt/bin/pushpin", "--config", "/srv/pp/pushpin.conf", "--merge-output"]


def test_argv_without_pushpin_installed_is_a_runtime_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(shutil, "which", lambda name: None)
    with pytest.raises(PushpinError, match="apt-get install pushpin"):
        pushpin.argv(plan())


@pytest.mark.parametrize(
    ("error", "code"),
    [
        (ConfigError("GRIP_URL", "bad"), 2),
        (ImproperlyConfigured("DASHBOARDS_X must be an integer"), 2),
        (PushpinError("port 7999 already in use"), 1),
    ],
)
def test_exit_codes_map_setting_and_start_failures(error: Exception, code: int) -> None:
    with pytest.raises(CommandError) as info, exit_codes():
        raise error
    assert info.value.returncode == code
    assert str(info.value) == str(error)


# -- the command ----------------------------------------------------------


def command_env(tmp_path: Path, **changes: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in (pushpin.HTTP_PORT_VARIABLE, pushpin.WEB_VARIABLE)}
    env.update(
        DJANGO_SETTINGS_MODULE="config.settings",
        DASHBOARDS_VAR_DIR=str(tmp_path / "var"),
        GRIP_URL=GRIP_URL,
    )
    env.update(changes)
    return env


def runpushpin(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "manage.py", "runpushpin", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


def one_line(stderr: str) -> str:
    assert "Traceback" not in stderr
    lines = stderr.splitlines()
    assert len(lines) == 1, stderr
    return lines[0]


@pytest.mark.parametrize(
    ("env", "args", "name"),
    [
        ({"GRIP_URL": "nonsense"}, [], "GRIP_URL"),
        ({"GRIP_URL": "http://127.0.0.1:abc?key=k"}, [], "GRIP_URL"),
        ({"GRIP_URL": "http://127.0.0.1:5561"}, [], "GRIP_URL"),
        ({"GRIP_URL": "http://127.0.0.1:5561?key=changeme"}, [], "GRIP_URL"),
        ({"GRIP_URL": "http://192.0.2.1:5561?key=k"}, [], "GRIP_URL"),
        ({}, ["--http-port", "abc"], "--http-port"),
        ({}, ["--http-port", "0"], "--http-port"),
        ({}, ["--http-port", "70000"], "--http-port"),
        ({}, ["--http-port", "a:b"], "--http-port"),
        ({"PUSHPIN_HTTP_PORT": "abc"}, [], "PUSHPIN_HTTP_PORT"),
        ({}, ["--web", "nohost"], "--web"),
        ({"DASHBOARDS_WEB_ADDR": "web:0"}, [], "DASHBOARDS_WEB_ADDR"),
        ({}, ["--port-offset", "-1"], "--port-offset"),
        ({}, ["--port-offset", "x"], "--port-offset"),
    ],
)
def test_a_bad_setting_or_option_is_one_line_naming_it_and_exit_2(
    tmp_path: Path, short_dir: Path, env: dict[str, str], args: list[str], name: str
) -> None:
    result = runpushpin(command_env(tmp_path, **env), "--check", "--instance-dir", str(short_dir), *args)
    assert result.returncode == 2, result.stderr
    assert f"{name}:" in one_line(result.stderr)
    assert not (short_dir / "pushpin.conf").exists()


def test_check_writes_a_config_matching_grip_url(tmp_path: Path, short_dir: Path) -> None:
    env = command_env(tmp_path, GRIP_URL="http://127.0.0.1:6200?key=from-grip-url&verify-iss=pushpin")
    result = runpushpin(env, "--check", "--instance-dir", str(short_dir), "--port-offset", "30")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == str(short_dir / "pushpin.conf")
    conf = parse(short_dir / "pushpin.conf")
    assert conf["proxy"]["sig_key"] == "from-grip-url"
    # Pushpin listens on push_in_http_port + port_offset
    assert int(conf["handler"]["push_in_http_port"]) + int(conf["global"]["port_offset"]) == 6200


def test_a_busy_port_exits_1_in_one_line(tmp_path: Path, short_dir: Path, listening: int) -> None:
    require("pushpin", "runpushpin looks for it before checking ports")
    result = runpushpin(command_env(tmp_path), "--instance-dir", str(short_dir), "--http-port", str(listening))
    assert result.returncode == 1, result.stderr
    assert str(listening) in one_line(result.stderr)


def test_pushpin_missing_exits_1_in_one_line(tmp_path: Path, short_dir: Path) -> None:
    empty = tmp_path / "empty-bin"
    empty.mkdir()
    result = runpushpin(command_env(tmp_path, PATH=str(empty)), "--instance-dir", str(short_dir))
    assert result.returncode == 1, result.stderr
    assert "pushpin is not installed" in one_line(result.stderr)


def answered(port: int, timeout: float) -> None:
    """Until Pushpin answers a request (with the web process down, a 502 will do): every
    part of it is up. A SIGTERM while its parts still start makes it exit 1."""
    deadline = time.monotonic() + timeout
    while True:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
        try:
            conn.request("GET", "/")
            conn.getresponse()
            return
        except (OSError, http.client.HTTPException):
            assert time.monotonic() < deadline, f"Pushpin on port {port} did not answer within {timeout} s"
            time.sleep(0.05)
        finally:
            conn.close()


def test_runpushpin_starts_pushpin_which_stops_on_sigterm(tmp_path: Path, short_dir: Path) -> None:
    require("pushpin", "this test runs the real proxy")
    publish_port, client_port = free_port(), free_port()
    offset = next(
        o
        for o in range(1000, 20000, 10)
        if not pushpin.busy_ports("127.0.0.1", [p + o for p in pushpin.ZMQ_PORTS])
        and publish_port not in [p + o for p in pushpin.ZMQ_PORTS]
        and client_port not in [p + o for p in pushpin.ZMQ_PORTS]
    )
    env = command_env(tmp_path, GRIP_URL=f"http://127.0.0.1:{publish_port}?key=k3y")
    log = tmp_path / "runpushpin.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [
                *(sys.executable, "manage.py", "runpushpin", "--instance-dir", str(short_dir)),
                *("--http-port", f"127.0.0.1:{client_port}", "--port-offset", str(offset), "--web", "127.0.0.1:9"),
            ],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        wait_listening(publish_port, 15, proc, log)
        wait_listening(client_port, 15, proc, log)
        answered(client_port, 15)
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=15)
        assert proc.returncode == 0, log.read_text()[-2000:]
        # the runner took its parts down with it: the publish port closes
        deadline = time.monotonic() + 10
        while pushpin.busy_ports("127.0.0.1", [publish_port]):
            assert time.monotonic() < deadline, "Pushpin's publish port stayed open after SIGTERM"
            time.sleep(0.05)
    finally:
        stop(proc, signal.SIGKILL)
        # its own session: whatever of Pushpin's parts a failed run left behind
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)


def test_a_log_level_is_passed_to_pushpin_and_a_bad_one_is_refused() -> None:
    if shutil.which("pushpin") is None:
        pytest.skip("PUSHPIN IS NOT INSTALLED: argv() needs the binary's path")
    instance = plan()
    assert pushpin.argv(instance)[-1] == "--merge-output"
    assert pushpin.argv(instance, "1")[-1] == "--loglevel=1"
    with pytest.raises(ConfigError, match="--loglevel: Pushpin's log level is one of 0, 1, 2, 3, not '9'"):
        pushpin.argv(instance, "9")


def test_a_project_may_render_its_own_config_template(settings: Any, tmp_path: Path) -> None:
    own = tmp_path / "pushpin.conf"
    own.write_text(pushpin.shipped_template().read_text().replace("client_buffer_size=4096", "client_buffer_size=8192"))
    settings.DASHBOARDS_PUSHPIN_CONFIG = str(own)
    assert pushpin.shipped_template() == own
    settings.DASHBOARDS_PUSHPIN_CONFIG = str(tmp_path / "missing.conf")
    with pytest.raises(ConfigError) as info:
        pushpin.shipped_template()
    assert info.value.setting == "DASHBOARDS_PUSHPIN_CONFIG"
