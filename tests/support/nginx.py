"""nginx (Debian's package) as the TLS and HTTP/2 front of a Stack's Pushpin, on loopback.

It serves the shipped deploy/nginx/dashboards_live.conf, rendered with the test's
ports, Pushpin's address and a self-signed certificate, so a test proves the file
we ship rather than a copy. The main nginx.conf around it is the fixture's own:
prefix, pid, logs and temporary folders in the test's folder, in the foreground
(`daemon off;`), stopped by pid.
"""

from __future__ import annotations

import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

from tests.support.stack import ROOT, free_port, require, stop, wait_listening

SHIPPED = ROOT / "deploy" / "nginx" / "dashboards_live.conf"


def nginx_binary() -> str:
    # Debian puts it in /usr/sbin, which is not on every user's PATH
    found = shutil.which("nginx") or shutil.which("nginx", path="/usr/sbin")
    return found or require("nginx", "the HTTP/2 front in tests/browser/test_http2_front.py")


def render(conf: str, *, https_port: int, http_port: int, upstream: str, cert: Path, key: Path) -> str:
    """The shipped site config with the test's values; each line it replaces must be there exactly once."""
    replacements = {
        "listen 443 ssl http2;": f"listen 127.0.0.1:{https_port} ssl http2;",
        "listen 80;": f"listen 127.0.0.1:{http_port};",
        # loopback IPv4 only, as every test process
        "listen [::]:443 ssl http2;": "",
        "listen [::]:80;": "",
        "server 127.0.0.1:7999;": f"server {upstream};",
        "/etc/nginx/certs/fullchain.pem": str(cert),
        "/etc/nginx/certs/privkey.pem": str(key),
    }
    for old, new in replacements.items():
        if conf.count(old) != 1:
            raise ValueError(f"{SHIPPED} no longer has {old!r} exactly once: update tests/support/nginx.py")
        conf = conf.replace(old, new)
    return conf


def self_signed(folder: Path) -> tuple[Path, Path]:
    """A certificate for 127.0.0.1 and its key, made with openssl."""
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        [
            require("openssl", "a self-signed certificate for the HTTP/2 front"),
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
            "-nodes",
            "-days",
            "2",
            "-subj",
            "/CN=127.0.0.1",
            "-addext",
            "subjectAltName=IP:127.0.0.1",
            "-keyout",
            str(key),
            "-out",
            str(cert),
        ],
        check=True,
        capture_output=True,
    )
    return cert, key


@dataclass
class Front:
    """nginx on free loopback ports, proxying to `upstream` (Pushpin's host:port)."""

    base: Path
    upstream: str
    https_port: int = field(default_factory=free_port)
    http_port: int = field(default_factory=free_port)
    proc: subprocess.Popen[bytes] | None = None

    @property
    def cert(self) -> Path:
        """The self-signed certificate it serves (a client's CA file)."""
        return self.base / "cert.pem"

    def url(self, path: str = "/") -> str:
        return f"https://127.0.0.1:{self.https_port}{path}"

    def http_url(self, path: str = "/") -> str:
        return f"http://127.0.0.1:{self.http_port}{path}"

    def start(self, timeout: float = 10) -> Front:
        binary = nginx_binary()
        self.base.mkdir(parents=True, exist_ok=True)
        cert, key = self_signed(self.base)
        site = self.base / "dashboards_live.conf"
        site.write_text(
            render(
                SHIPPED.read_text(),
                https_port=self.https_port,
                http_port=self.http_port,
                upstream=self.upstream,
                cert=cert,
                key=key,
            )
        )
        temp = {name: self.base / name for name in ("body", "proxy", "fastcgi", "uwsgi", "scgi")}
        (self.base / "nginx.conf").write_text(
            "daemon off;\n"
            "worker_processes 1;\n"
            f"pid {self.base / 'nginx.pid'};\n"
            f"error_log {self.base / 'error.log'} warn;\n"
            "events { worker_connections 512; }\n"
            "http {\n"
            f"    access_log {self.base / 'access.log'};\n"
            f"    client_body_temp_path {temp['body']};\n"
            f"    proxy_temp_path {temp['proxy']};\n"
            f"    fastcgi_temp_path {temp['fastcgi']};\n"
            f"    uwsgi_temp_path {temp['uwsgi']};\n"
            f"    scgi_temp_path {temp['scgi']};\n"
            f"    include {site};\n"
            "}\n"
        )
        log = self.base / "error.log"
        argv = [binary, "-p", str(self.base), "-c", str(self.base / "nginx.conf"), "-e", str(log)]
        checked = subprocess.run([*argv, "-t"], capture_output=True, text=True)
        if checked.returncode != 0:
            raise RuntimeError(f"nginx -t refused the rendered config:\n{checked.stderr}")
        self.proc = subprocess.Popen(argv, stdout=log.open("ab"), stderr=subprocess.STDOUT, start_new_session=True)
        wait_listening(self.https_port, timeout, self.proc, log)
        wait_listening(self.http_port, timeout, self.proc, log)
        return self

    def close(self) -> None:
        # SIGTERM is nginx's fast stop: held streams are cut, not waited for
        stop(self.proc)
        self.proc = None
