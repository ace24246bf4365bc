"""Run Debian's Pushpin with the app's config template (data/pushpin.conf) and Django's settings.

Pushpin reads no environment variables, so the key it signs requests with and
the port it takes publishes on are written into a rendered copy of the config,
taken from GRIP_URL: Pushpin and every publisher then agree by construction.
`runpushpin` and the test fixtures plan, write and start their instances with
the same functions: plan_instance() (every value checked, a ConfigError naming
the bad one), write_instance(), check_ports_free() and argv().
"""

from __future__ import annotations

import ipaddress
import os
import re
import shutil
import socket
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from dashboards_live import conf
from dashboards_live.errors import ConfigError, PushpinError

# ZMQ and HTTP control ports that port_offset shifts, as in data/pushpin.conf
ZMQ_PORTS = (5560, 5562, 5563)

DEFAULT_HTTP_PORT = "7999"
DEFAULT_WEB = "127.0.0.1:8000"
HTTP_PORT_VARIABLE = "PUSHPIN_HTTP_PORT"
WEB_VARIABLE = "DASHBOARDS_WEB_ADDR"

# the shipped config binds the publish port here (push_in_http_addr)
PUBLISH_HOSTS = ("127.0.0.1", "localhost")

# A unix socket path holds at most 107 bytes, and Pushpin puts its ipc sockets
# in rundir; the longest name internal.conf gives one is this long.
SOCKET_PATH_MAX = 107
LONGEST_SOCKET_NAME = len("/pushpin-condure-out-stream")

HOSTNAME = re.compile(r"[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?")


@dataclass(frozen=True)
class PushpinSettings:
    http_port: str  # "[addr:]port" for browsers
    publish_port: int  # Pushpin's publish endpoint (on 127.0.0.1)
    port_offset: int  # shifts the ZMQ ports (several instances on one host)
    sig_key: str
    rundir: Path
    logdir: Path
    routes: Path
    # (section, key, value) written over the shipped values, e.g. a bench's message_rate
    overrides: tuple[tuple[str, str, str], ...] = ()

    @property
    def zmq_ports(self) -> list[int]:
        return [p + self.port_offset for p in ZMQ_PORTS]


@dataclass(frozen=True)
class Instance:
    """One Pushpin instance, planned and checked: its settings, its config file and its route."""

    settings: PushpinSettings
    conf: Path  # the rendered config
    web: str  # HOST:PORT every request is routed to
    client_host: str  # where to look for something already on the client port
    client_port: int

    @property
    def ports(self) -> list[int]:
        """Every TCP port this instance listens on, the client port first."""
        return [self.client_port, self.settings.publish_port, *self.settings.zmq_ports]


def shipped_template() -> Path:
    """The config template runpushpin renders: DASHBOARDS_PUSHPIN_CONFIG, else the app's own."""
    chosen = conf.setting("DASHBOARDS_PUSHPIN_CONFIG")
    if chosen:
        path = Path(chosen)
        if not path.is_file():
            raise ConfigError("DASHBOARDS_PUSHPIN_CONFIG", f"{path} is not a file")
        return path
    return Path(__file__).resolve().parent.parent / "data" / "pushpin.conf"


def plan_instance(
    grip_url: object,
    *,
    instance_dir: Path | None = None,
    http_port: object = None,
    web: object = None,
    port_offset: object = 0,
    rundir: Path | None = None,
    overrides: Mapping[tuple[str, str], str] | None = None,
    environ: Mapping[str, str] = os.environ,
) -> Instance:
    """Check every value an instance is made of; a ConfigError names the first bad one.

    http_port and web left as None come from PUSHPIN_HTTP_PORT and
    DASHBOARDS_WEB_ADDR (else the defaults), and an error then names the variable;
    a value given names the option that gave it (--http-port, --web).
    """
    target = conf.Target.from_grip_url(grip_url, "GRIP_URL")
    if target.scheme != "http" or target.host not in PUBLISH_HOSTS:
        raise ConfigError(
            "GRIP_URL",
            f"points at {target.display}; runpushpin runs a local Pushpin, whose publish port "
            "listens on http://127.0.0.1:PORT",
        )
    if not isinstance(target.key, str) or not target.key:
        raise ConfigError("GRIP_URL", "has no ?key=...: Pushpin needs it to sign the requests it forwards")
    if target.key == "changeme":
        raise ConfigError("GRIP_URL", "uses Pushpin's stock key 'changeme', which anyone can sign with")

    http_port_name, http_port = _given("--http-port", http_port, HTTP_PORT_VARIABLE, DEFAULT_HTTP_PORT, environ)
    http_port, client_host, client_port = _listen_address(http_port_name, http_port)
    web_name, web = _given("--web", web, WEB_VARIABLE, DEFAULT_WEB, environ)
    web = _host_port(web_name, web)
    offset = _port_offset(port_offset, target.port)

    base = (instance_dir if instance_dir is not None else conf.var_dir() / "pushpin").absolute()
    run = (rundir if rundir is not None else base / "run").absolute()
    if len(str(run).encode()) + LONGEST_SOCKET_NAME > SOCKET_PATH_MAX:
        raise ConfigError(
            "--instance-dir" if instance_dir is not None else "DASHBOARDS_VAR_DIR",
            f"{run} is too long for Pushpin's unix sockets (at most "
            f"{SOCKET_PATH_MAX - LONGEST_SOCKET_NAME} bytes): use a shorter folder",
        )
    instance = Instance(
        settings=PushpinSettings(
            http_port=http_port,
            publish_port=target.port,
            port_offset=offset,
            sig_key=target.key,
            rundir=run,
            logdir=base / "log",
            routes=base / "routes",
            overrides=tuple((section, key, value) for (section, key), value in (overrides or {}).items()),
        ),
        conf=base / "pushpin.conf",
        web=web,
        client_host=client_host,
        client_port=client_port,
    )
    zmq = instance.settings.zmq_ports
    if target.port in zmq:
        raise ConfigError(
            "GRIP_URL",
            f"publish port {target.port} is one of Pushpin's ZMQ ports ({', '.join(map(str, zmq))}): "
            "change it or --port-offset",
        )
    if client_port in (target.port, *zmq):
        raise ConfigError(http_port_name, f"{client_port} is already Pushpin's publish or a ZMQ port")
    return instance


def _given(option: str, value: object, variable: str, default: str, environ: Mapping[str, str]) -> tuple[str, str]:
    """The name a user knows the value by, and the value: the option, else the variable, else the default."""
    if value is not None:
        return option, str(value)
    if variable in environ:
        return variable, environ[variable]
    return option, default


def _listen_address(name: str, raw: str) -> tuple[str, str, int]:
    """PORT or ADDR:PORT (ADDR an IPv4 address): as Pushpin takes it, where to look for a listener, the port."""
    addr, sep, port = raw.strip().rpartition(":")
    if not sep:
        number = conf.port(name, port)
        return str(number), "127.0.0.1", number
    try:
        ip = ipaddress.IPv4Address(addr)
    except ValueError:
        raise ConfigError(name, f"must be PORT or ADDR:PORT with ADDR an IPv4 address, not {raw!r}") from None
    number = conf.port(name, port)
    return f"{ip}:{number}", ("127.0.0.1" if ip.is_unspecified else str(ip)), number


def _host_port(name: str, raw: str) -> str:
    """HOST:PORT, as a routes line takes it."""
    host, sep, port = raw.strip().rpartition(":")
    if not sep or not HOSTNAME.fullmatch(host):
        raise ConfigError(name, f"must be HOST:PORT (e.g. {DEFAULT_WEB}), not {raw!r}")
    return f"{host}:{conf.port(name, port)}"


def _port_offset(raw: object, publish_port: int) -> int:
    try:
        if isinstance(raw, bool):
            raise ValueError
        offset = int(str(raw).strip())
    except ValueError:
        raise ConfigError("--port-offset", f"must be a whole number of ports (0 or more), not {raw!r}") from None
    if offset < 0:
        raise ConfigError("--port-offset", f"must be 0 or more, not {offset}")
    if max(ZMQ_PORTS) + offset > 65535:
        raise ConfigError("--port-offset", f"{offset} shifts Pushpin's ZMQ port {max(ZMQ_PORTS)} past 65535")
    if publish_port - offset < 1:
        # Pushpin adds the offset to the publish port written in its config
        raise ConfigError("--port-offset", f"{offset} is larger than GRIP_URL's publish port {publish_port}")
    return offset


def set_option(text: str, section: str, key: str, value: str) -> str:
    """Replace `key=...` inside `[section]` of an INI-style config."""
    lines = text.splitlines(keepends=True)
    current = None
    for i, line in enumerate(lines):
        stripped = line.strip()
        if stripped.startswith("[") and stripped.endswith("]"):
            current = stripped[1:-1]
        elif current == section and stripped.split("=", 1)[0] == key and "=" in stripped:
            lines[i] = f"{key}={value}\n"
            return "".join(lines)
    raise ValueError(f"pushpin.conf has no {key}= in [{section}]")


def render_config(template: str, s: PushpinSettings) -> str:
    if not s.sig_key or s.sig_key == "changeme":
        raise ValueError("Pushpin needs a signing key: set GRIP_URL with ?key=... (never 'changeme')")
    text = template
    for section, key, value in (
        ("global", "rundir", str(s.rundir)),
        ("global", "port_offset", str(s.port_offset)),
        ("runner", "http_port", s.http_port),
        ("runner", "logdir", str(s.logdir)),
        ("proxy", "routesfile", str(s.routes)),
        ("proxy", "sig_key", s.sig_key),
        # the HTTP control port is shifted by port_offset too
        ("handler", "push_in_http_port", str(s.publish_port - s.port_offset)),
        *s.overrides,
    ):
        text = set_option(text, section, key, value)
    return text


def write_instance(template_path: Path, s: PushpinSettings, conf_path: Path, web: str | None) -> Path:
    """Write a runnable config (and routes) for one Pushpin instance; a PushpinError if it cannot."""
    text = render_config(template_path.read_text(), s)
    try:
        for directory in (s.rundir, s.logdir, conf_path.parent):
            directory.mkdir(parents=True, exist_ok=True)
        conf_path.write_text(text)
        conf_path.chmod(0o600)  # it holds the signing key
        # every request goes to the project's web process
        s.routes.write_text(f"* {web or DEFAULT_WEB}\n")
    except OSError as exc:
        raise PushpinError(f"cannot write Pushpin's config in {conf_path.parent}: {exc.strerror or exc}") from None
    return conf_path


def busy_ports(host: str, ports: list[int]) -> list[int]:
    """Ports something already listens on. Pushpin starts without complaint on a
    taken port (and its publishes then go to whoever holds it), so check first."""
    busy = []
    for port in ports:
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            sock.settimeout(0.5)
            if sock.connect_ex((host, port)) == 0:
                busy.append(port)
    return busy


def check_ports_free(instance: Instance) -> None:
    """A PushpinError naming every port of the instance that something already listens on."""
    taken = busy_ports(instance.client_host, [instance.client_port])
    taken += busy_ports("127.0.0.1", instance.ports[1:])
    if taken:
        raise PushpinError(
            f"port(s) {', '.join(map(str, taken))} already in use: is another Pushpin running? "
            "(Pushpin would start without them)"
        )


LOG_LEVELS = {"0": "errors", "1": "warnings", "2": "info (each publish)", "3": "debug"}


def argv(instance: Instance, loglevel: str | None = None) -> list[str]:
    """The command line that runs the instance in the foreground; a PushpinError if pushpin is missing."""
    binary = shutil.which("pushpin")
    if binary is None:
        raise PushpinError("pushpin is not installed: sudo apt-get install pushpin")
    command = [binary, "--config", str(instance.conf), "--merge-output"]
    if loglevel is not None:
        if loglevel not in LOG_LEVELS:
            raise ConfigError("--loglevel", f"Pushpin's log level is one of {', '.join(LOG_LEVELS)}, not {loglevel!r}")
        command.append(f"--loglevel={loglevel}")
    return command
