"""Login limits with django-axes: what the reference project adds to axes' defaults.

A wrong password costs a sync worker a full password hash, so guessing without a
limit starves every other visitor. axes counts failures and refuses a locked-out
attempt before any backend hashes the password. Three additions:

- Django sees every request come from Pushpin (127.0.0.1); the client's address is
  the left-most X-Forwarded-For entry, which Pushpin writes itself
  (`x_forwarded_for=truncate:0,append` in its config). Without it the per-address
  cap below would lock every visitor out at once.
- axes has one failure limit for all its lockout parameters: the limit per username
  and address is axes' own; a larger cap per address, whatever the username, is
  added here.
- `authenticate()` without a request (a shell, Django's test client) has no client
  to count: it is not refused. Logins from the web always pass their request.
"""

from __future__ import annotations

import ipaddress
from datetime import timedelta
from math import ceil
from typing import Any

from axes.attempts import get_cool_off_threshold
from axes.backends import AxesStandaloneBackend
from axes.handlers.database import AxesDatabaseHandler
from axes.helpers import get_cool_off, get_failure_limit
from axes.models import AccessAttempt
from django.conf import settings
from django.db.models import Sum
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render


def client_address(request: HttpRequest) -> str | None:
    """The client's address (AXES_CLIENT_IP_CALLABLE)."""
    if settings.LOGIN_TRUST_X_FORWARDED_FOR:
        first = request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")[0].strip()
        try:
            address = ipaddress.ip_address(first)
        except ValueError:
            pass
        else:
            # an IPv4 client of a dual-stack listener counts as itself
            if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
                return str(address.ipv4_mapped)
            return str(address)
    remote: str | None = request.META.get("REMOTE_ADDR")
    return remote


def address_failures(request: HttpRequest) -> int:
    """Failed logins from the request's address within the cool-off, whatever the username."""
    attempts = AccessAttempt.objects.filter(
        ip_address=request.axes_ip_address,  # type: ignore[attr-defined]
        attempt_time__gte=get_cool_off_threshold(request),
    )
    total: int | None = attempts.aggregate(total=Sum("failures_since_start"))["total"]
    return total or 0


class LoginLimitHandler(AxesDatabaseHandler):  # type: ignore[misc]
    """axes' database handler, plus LOGIN_ADDRESS_FAILURE_LIMIT per client address."""

    def get_failures(self, request: HttpRequest, credentials: dict[str, Any] | None = None) -> int:
        failures: int = super().get_failures(request, credentials)
        cap: int = settings.LOGIN_ADDRESS_FAILURE_LIMIT
        if cap and address_failures(request) >= cap:
            # axes locks at AXES_FAILURE_LIMIT: an address over its own cap counts as that many
            limit: int = get_failure_limit(request, credentials)
            return max(failures, limit)
        return failures


class LoginLimitBackend(AxesStandaloneBackend):  # type: ignore[misc]
    """axes' check, first in AUTHENTICATION_BACKENDS, skipped for calls without a request."""

    def authenticate(
        self, request: HttpRequest | None, username: str | None = None, password: str | None = None, **kwargs: Any
    ) -> None:
        if request is None:
            return None
        super().authenticate(request, username=username, password=password, **kwargs)
        return None


def locked_out(request: HttpRequest, response: HttpResponse | None, credentials: dict[str, Any] | None) -> HttpResponse:
    """The page a locked-out login gets (AXES_LOCKOUT_CALLABLE): 429 with Retry-After."""
    cool_off: timedelta = get_cool_off(request)
    minutes = ceil(cool_off.total_seconds() / 60)
    page = render(request, "registration/locked_out.html", {"minutes": minutes}, status=429)
    page["Retry-After"] = str(int(cool_off.total_seconds()))
    return page
