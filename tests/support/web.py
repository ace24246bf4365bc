"""A logged-in browser session over real sockets: cookies, CSRF, Django's login view."""

from __future__ import annotations

import http.client
import re
from dataclasses import dataclass, field
from http.cookies import SimpleCookie
from urllib.parse import urlencode, urlsplit

from tests.support.sse import SSEClient


@dataclass
class Response:
    status: int
    headers: dict[str, str]
    body: str


@dataclass
class WebSession:
    base: str  # e.g. http://127.0.0.1:PORT (Pushpin's client port)
    cookies: dict[str, str] = field(default_factory=dict)

    def cookie_header(self) -> dict[str, str]:
        if not self.cookies:
            return {}
        return {"Cookie": "; ".join(f"{k}={v}" for k, v in self.cookies.items())}

    def request(
        self, method: str, path: str, body: dict[str, str] | None = None, headers: dict[str, str] | None = None
    ) -> Response:
        parts = urlsplit(self.base)
        conn = http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port or 80, timeout=10)
        headers = {**self.cookie_header(), **(headers or {})}
        data = None
        if body is not None:
            data = urlencode(body)
            headers["Content-Type"] = "application/x-www-form-urlencoded"
            if "csrftoken" in self.cookies:
                headers["X-CSRFToken"] = self.cookies["csrftoken"]
        try:
            conn.request(method, path, data, headers)
            response = conn.getresponse()
            text = response.read().decode("utf-8", "replace")
            for value in response.headers.get_all("Set-Cookie") or []:
                for name, morsel in SimpleCookie(value).items():
                    if morsel["max-age"] == "0" or morsel.value == "":
                        self.cookies.pop(name, None)
                    else:
                        self.cookies[name] = morsel.value
            return Response(response.status, dict(response.getheaders()), text)
        finally:
            conn.close()

    def login(self, username: str, password: str) -> None:
        form = self.request("GET", "/login/")
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', form.body)
        assert token, f"no CSRF token on the login page (HTTP {form.status})"
        answer = self.request(
            "POST",
            "/login/",
            {"username": username, "password": password, "csrfmiddlewaretoken": token.group(1), "next": "/"},
        )
        assert answer.status == 302 and "sessionid" in self.cookies, f"login of {username} failed: {answer.status}"

    def logout(self) -> None:
        answer = self.request("POST", "/logout/", {})
        assert answer.status in (200, 302), f"logout failed: {answer.status}"
        assert "sessionid" not in self.cookies

    def stream(self, channel: str) -> SSEClient:
        return SSEClient(f"{self.base}/events/{channel}/", headers=self.cookie_header())
