"""The events path's own handler and its Grip-Sig cache (dashboards_live/streams.py)."""

from __future__ import annotations

import io
import sys
import time
from typing import Any

import jwt
import pytest
from django.conf import settings
from gripcontrol import parse_grip_uri

from dashboards_live.web import streams
from dashboards_live.web.streams import Application, SignatureCache


class Clock:
    # PyJWT checks exp against the real clock: simulated time starts at now
    def __init__(self) -> None:
        self.now = float(int(time.time()))

    def __call__(self) -> float:
        return self.now


def token(key: str = "k", exp: float | None = None, iss: str = "pushpin") -> str:
    exp = time.time() + 60 if exp is None else exp
    return jwt.encode({"iss": iss, "exp": int(exp)}, key, algorithm="HS256")


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    clock = Clock()
    # validate_sig checks exp against the wall clock: drive that one too
    monkeypatch.setattr("gripcontrol.gripcontrol._timestamp_utcnow", lambda: clock.now)
    return clock


def test_a_verified_token_is_taken_again_without_checking_its_signature(
    clock: Clock, monkeypatch: pytest.MonkeyPatch
) -> None:
    cache = SignatureCache([("k", "pushpin")], clock)
    good = token()
    assert cache.verify(good)
    calls: list[object] = []

    def validate_sig(*args: object, **kwargs: object) -> bool:
        calls.append(args)
        return False

    monkeypatch.setattr(streams, "validate_sig", validate_sig)
    assert cache.verify(good) and cache.verify(good)
    assert calls == []


def test_a_cached_token_is_refused_once_its_exp_has_passed(clock: Clock) -> None:
    cache = SignatureCache([("k", "pushpin")], clock)
    good = token(exp=clock.now + 5)
    assert cache.verify(good)
    clock.now += 5
    assert not cache.verify(good)
    assert good not in cache.valid


@pytest.mark.parametrize(
    "bad",
    [token(key="other"), token(iss="someone-else"), token(exp=1_000_000), "not-a-jwt"],
    ids=["wrong-key", "wrong-issuer", "expired", "garbage"],
)
def test_bad_tokens_are_refused_every_time_and_never_cached(clock: Clock, bad: str) -> None:
    cache = SignatureCache([("k", "pushpin")], clock)
    assert not cache.verify(bad) and not cache.verify(bad)
    assert cache.valid == {}


def test_any_proxy_key_will_do(clock: Clock) -> None:
    cache = SignatureCache([("k1", None), ("k2", "pushpin")], clock)
    assert cache.verify(token(key="k2")) and cache.verify(token(key="k1", iss="anyone"))


def test_the_cache_stays_bounded(clock: Clock) -> None:
    cache = SignatureCache([("k", "pushpin")], clock)
    for i in range(streams.CACHED_TOKENS * 3):
        assert cache.verify(token(exp=clock.now + 100 + i))
    assert len(cache.valid) <= streams.CACHED_TOKENS


def test_a_proxy_without_a_key_leaves_verification_to_django_grip(settings: Any) -> None:
    settings.GRIP_PROXIES = [{"control_uri": "http://127.0.0.1:5561"}]
    assert SignatureCache.from_settings() is None


# -- the WSGI application ------------------------------------------------------
def call(app: Application, path: str, **headers: str) -> tuple[str, dict[str, str], bytes]:
    environ: dict[str, Any] = {
        "REQUEST_METHOD": "GET",
        "PATH_INFO": path,
        "QUERY_STRING": "",
        "SERVER_NAME": "testserver",
        "SERVER_PORT": "80",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "HTTP_HOST": "testserver",
        "HTTP_X_FORWARDED_PROTO": "https",
        "wsgi.url_scheme": "http",
        "wsgi.input": io.BytesIO(b""),
        "wsgi.errors": sys.stderr,
        "wsgi.multithread": False,
        "wsgi.multiprocess": True,
        "wsgi.run_once": False,
        "wsgi.version": (1, 0),
        **{"HTTP_" + k.upper().replace("-", "_"): v for k, v in headers.items()},
    }
    got: dict[str, Any] = {}

    def start_response(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> None:
        got["status"], got["headers"] = status, dict(headers)

    body = b"".join(app(environ, start_response))
    return got["status"], got["headers"], body


def pushpin_sig() -> str:
    key = parse_grip_uri(settings.GRIP_URL)["key"]
    return jwt.encode({"iss": "pushpin", "exp": int(time.time()) + 60}, key, algorithm="HS256")


@pytest.mark.django_db
def test_streams_run_only_the_stream_middleware_and_pages_run_all() -> None:
    app = Application()
    status, headers, _ = call(app, "/events/demo/", grip_sig=pushpin_sig())
    assert status.startswith("200") and headers["Grip-Hold"] == "stream"
    assert "X-Frame-Options" not in headers  # clickjacking middleware: pages only
    status, headers, _ = call(app, "/login/", grip_sig=pushpin_sig())
    assert status.startswith("200") and headers["X-Frame-Options"] == "DENY"


@pytest.mark.django_db
@pytest.mark.parametrize("sig", [None, "not-a-jwt"], ids=["unsigned", "forged"])
def test_the_stream_handler_still_refuses_unsigned_and_forged_requests(sig: str | None) -> None:
    headers = {"grip_sig": sig} if sig else {}
    status, got, body = call(Application(), "/events/demo/", **headers)
    assert status.startswith("403") and "Grip-Hold" not in got
    assert b"Grip-Sig" in body


def test_stream_middleware_leaves_the_pages_middleware_setting_alone() -> None:
    before = list(settings.MIDDLEWARE)
    handler = streams.StreamHandler()
    assert before == settings.MIDDLEWARE
    assert handler._middleware_chain is not None  # type: ignore[attr-defined]
