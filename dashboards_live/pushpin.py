"""Run Debian's Pushpin with our pushpin/pushpin.conf and Django's settings.

Pushpin reads no environment variables, so the key it signs requests with and
the port it takes publishes on are written into a rendered copy of the config,
taken from GRIP_URL: Pushpin and every publisher then agree by construction.
The test fixtures render their instances with the same function.
"""

from __future__ import annotations

import shutil
import socket
from dataclasses import dataclass
from pathlib import Path

# ZMQ and HTTP control ports that port_offset shifts, as in pushpin/pushpin.conf
ZMQ_PORTS = (5560, 5562, 5563)


@dataclass(frozen=True)
class PushpinSettings:
    http_port: str  # "[addr:]port" for browsers
    publish_port: int  # Pushpin's publish endpoint (on 127.0.0.1)
    port_offset: int  # shifts the ZMQ ports (several instances on one host)
    sig_key: str
    rundir: Path
    logdir: Path
    routes: Path

    @property
    def zmq_ports(self) -> list[int]:
        return [p + self.port_offset for p in ZMQ_PORTS]


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
    ):
        text = set_option(text, section, key, value)
    return text


def write_instance(template_path: Path, s: PushpinSettings, conf_path: Path, web: str | None) -> Path:
    """Write a runnable config (and routes) for one Pushpin instance."""
    for directory in (s.rundir, s.logdir, conf_path.parent):
        directory.mkdir(parents=True, exist_ok=True)
    conf_path.write_text(render_config(template_path.read_text(), s))
    conf_path.chmod(0o600)  # it holds the signing key
    if web is not None:
        s.routes.write_text(f"* {web}\n")
    elif s.routes != template_path.parent / "routes":
        shutil.copyfile(template_path.parent / "routes", s.routes)
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
