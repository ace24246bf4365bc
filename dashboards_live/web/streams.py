"""The short road for SSE connects: what the events path needs and nothing more.

Every browser's EventSource connect reaches Django once, through Pushpin, and
at 10,000 viewers those connects are most of what the web process does. A
connect needs three things: Pushpin's signature, the user (for the channel
rule) and the channel's last id. So the events view verifies Pushpin's
signature itself (grip_view: each token once, not on every request), and a
project that serves it through dashboards_live.web.wsgi gives the events path
a handler of its own with only the middleware the user needs
(DASHBOARDS_STREAM_MIDDLEWARE). Everything else (whitenoise, CSRF, messages,
htmx, frame options) runs only on the pages.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from functools import wraps
from typing import Any

from django.conf import settings
from django.core.handlers.wsgi import WSGIHandler
from django.core.signals import setting_changed
from django.dispatch import receiver
from django.http import HttpRequest, HttpResponse
from django.urls import get_script_prefix, reverse
from django_grip import GripMiddleware
from gripcontrol import parse_grip_uri, validate_sig

from dashboards_live import conf

# the token cache's bound: Pushpin signs with a fresh exp once a second, so a
# busy process sees a handful of distinct tokens at a time, never thousands
CACHED_TOKENS = 256


class SignatureCache:
    """Grip-Sig tokens already verified against the proxies' keys, until their exp.

    Pushpin's token is a JWT whose claims are only iss and exp (whole seconds),
    so every request it forwards within a second carries the same token: the
    HMAC check and JSON parse need not run again for each of them. The cache
    keeps each token's exp and refuses it once that has passed, as
    validate_sig would; an unknown token goes to validate_sig itself.
    """

    def __init__(self, keys: list[tuple[Any, str | None]], clock: Callable[[], float] = time.time) -> None:
        self.keys = keys
        self.clock = clock
        self.valid: dict[str, float] = {}

    @classmethod
    def from_settings(cls) -> SignatureCache | None:
        """The proxies of GRIP_URL and GRIP_PROXIES; None if one has no key (django_grip then trusts all)."""
        proxies = [dict(p) for p in getattr(settings, "GRIP_PROXIES", None) or []]
        if getattr(settings, "GRIP_URL", None):
            proxies.append(parse_grip_uri(settings.GRIP_URL))
        verify_key = getattr(settings, "GRIP_VERIFY_KEY", None)
        keys = []
        for proxy in proxies:
            key = proxy.get("verify_key") or verify_key or proxy.get("key")
            if not key:
                return None
            keys.append((key, proxy.get("verify_iss")))
        return cls(keys)

    def verify(self, token: str) -> bool:
        now = self.clock()
        exp = self.valid.get(token)
        if exp is not None:
            if now < exp:
                return True
            del self.valid[token]
        for key, iss in self.keys:
            if validate_sig(token, key, iss=iss):
                if len(self.valid) >= CACHED_TOKENS:
                    self.valid = {t: e for t, e in self.valid.items() if e > now}
                    if len(self.valid) >= CACHED_TOKENS:
                        self.valid.clear()
                self.valid[token] = _exp(token)
                return True
        return False


def _exp(token: str) -> float:
    import jwt

    # the signature was just verified; only the exp claim is read here
    claims = jwt.decode(token, options={"verify_signature": False})
    return float(claims["exp"])


class CachedGripMiddleware(GripMiddleware):  # type: ignore[misc]
    """django_grip's middleware with Grip-Sig verified through a SignatureCache."""

    def __init__(self, get_response: Callable[[HttpRequest], Any]) -> None:
        super().__init__(get_response)
        self.signatures = SignatureCache.from_settings()

    def process_request(self, request: HttpRequest) -> Any:
        token = request.META.get("HTTP_GRIP_SIG") if self.signatures is not None else None
        if token is None:
            return super().process_request(request)
        # django_grip reads everything else (Grip-Last, Grip-Feature, WebSocket
        # events) as usual; only the signature check is ours
        del request.META["HTTP_GRIP_SIG"]
        try:
            refused = super().process_request(request)
        finally:
            request.META["HTTP_GRIP_SIG"] = token
        if self.signatures is not None and self.signatures.verify(token):
            grip: Any = request
            grip.grip.proxied = grip.grip.signed = True
            grip.grip_proxied = grip.grip_signed = True
        return refused


def grip_view(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Run `view` inside CachedGripMiddleware, unless a Grip middleware in MIDDLEWARE already did.

    The events view needs Pushpin's signature checked and its hold
    instructions turned into headers; doing it here spares every project a
    middleware to add (and every page request the work).
    """

    def no_response(request: HttpRequest) -> HttpResponse:
        raise AssertionError("grip_view calls the view itself")

    @wraps(view)
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if hasattr(request, "grip"):
            return view(request, *args, **kwargs)
        middleware = _middlewares.get(view)
        if middleware is None:
            middleware = _middlewares[view] = CachedGripMiddleware(no_response)
        refused: HttpResponse | None = middleware.process_request(request)
        if refused is not None:
            return refused
        response: HttpResponse = middleware.process_response(request, view(request, *args, **kwargs))
        return response

    return wrapped


# one middleware (and signature cache) per wrapped view, built from the Grip
# settings at its first request and dropped when a test changes them
_middlewares: dict[Callable[..., HttpResponse], CachedGripMiddleware] = {}
GRIP_SETTINGS = frozenset({"GRIP_URL", "GRIP_PROXIES", "GRIP_VERIFY_KEY"})


@receiver(setting_changed)
def _grip_settings_changed(*, setting: str, **kwargs: Any) -> None:
    if setting in GRIP_SETTINGS:
        _middlewares.clear()


class StreamHandler(WSGIHandler):
    """Django's WSGI handler with DASHBOARDS_STREAM_MIDDLEWARE in place of MIDDLEWARE."""

    def load_middleware(self, is_async: bool = False) -> None:
        pages = settings.MIDDLEWARE
        # read once, at start-up, before any request is served
        settings.MIDDLEWARE = conf.setting("DASHBOARDS_STREAM_MIDDLEWARE")
        try:
            super().load_middleware(is_async)
        finally:
            settings.MIDDLEWARE = pages


class Application:
    """A WSGI application: the events path on its own handler, the rest on Django's."""

    def __init__(self) -> None:
        self.pages = WSGIHandler()
        self.streams = StreamHandler()
        self._prefix: str | None = None

    @property
    def prefix(self) -> str:
        """Where the app's events URLs start (PATH_INFO, so without SCRIPT_NAME): from its URLconf."""
        if self._prefix is None:
            probe = "x"
            path = reverse("dashboards_live:events", args=[probe], urlconf=settings.ROOT_URLCONF)
            self._prefix = path.removeprefix(get_script_prefix().rstrip("/")).removesuffix(f"{probe}/")
        return self._prefix

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        handler = self.streams if environ.get("PATH_INFO", "").startswith(self.prefix) else self.pages
        return handler(environ, start_response)
