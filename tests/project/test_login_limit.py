"""Login limits (django-axes, config/loginlimit.py): per username and address, per address,
the cool-off, no password hash for a locked-out attempt, and which address counts."""

from __future__ import annotations

import io
import re
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from axes.models import AccessAttempt
from django.conf import settings
from django.contrib.auth import authenticate
from django.contrib.auth.hashers import MD5PasswordHasher
from django.contrib.auth.models import User
from django.core.management import call_command
from django.test import Client
from django.utils import timezone

from tests.support.stack import Stack
from tests.support.web import WebSession

PASSWORD = "right-pw-for-tests"
HASHER = f"{__name__}.CountingHasher"


class CountingHasher(MD5PasswordHasher):
    """Fast, and counts every password it hashes (checking a password hashes it too)."""

    algorithm = "counting_md5"
    hashed = 0

    def encode(self, password: str, salt: str) -> str:
        CountingHasher.hashed += 1
        return super().encode(password, salt)


@pytest.fixture(autouse=True)
def counting_hasher(settings: Any) -> Iterator[type[CountingHasher]]:
    settings.PASSWORD_HASHERS = [HASHER]
    CountingHasher.hashed = 0
    yield CountingHasher


@pytest.fixture
def ann(db: None) -> User:
    return User.objects.create_user("ann", password=PASSWORD)


def login(client: Client, username: str, password: str, **extra: Any) -> int:
    return client.post("/login/", {"username": username, "password": password}, **extra).status_code


def test_the_defaults(settings: Any) -> None:
    assert (settings.AXES_FAILURE_LIMIT, settings.LOGIN_ADDRESS_FAILURE_LIMIT) == (5, 20)
    assert settings.AXES_COOLOFF_TIME.total_seconds() == 15 * 60
    assert settings.AUTHENTICATION_BACKENDS[0] == "config.loginlimit.LoginLimitBackend"


def test_wrong_passwords_lock_the_username_from_that_address(client: Client, ann: User) -> None:
    assert [login(client, "ann", "wrong") for _ in range(4)] == [200] * 4
    locked = client.post("/login/", {"username": "ann", "password": "wrong"})
    assert locked.status_code == 429
    assert locked["Retry-After"] == "900"
    assert "Too many failed logins" in locked.content.decode() and "15 minutes" in locked.content.decode()
    # even the right password, while locked
    assert login(client, "ann", PASSWORD) == 429
    assert "_auth_user_id" not in client.session
    # another address is not locked out of the same account
    assert login(Client(), "ann", PASSWORD, REMOTE_ADDR="192.0.2.7") == 302


def test_the_admin_login_is_limited_too(client: Client, ann: User) -> None:
    statuses = [client.post("/admin/login/", {"username": "ann", "password": "wrong"}).status_code for _ in range(5)]
    assert statuses == [200] * 4 + [429]


def test_a_locked_out_attempt_hashes_no_password(client: Client, ann: User, counting_hasher: Any) -> None:
    counting_hasher.hashed = 0  # creating ann hashed her password
    for _ in range(5):
        login(client, "ann", "wrong")
    assert counting_hasher.hashed == 5
    assert login(client, "ann", PASSWORD) == 429
    assert login(client, "nobody", "wrong", REMOTE_ADDR="127.0.0.1") == 200  # unknown user: hashed all the same
    assert counting_hasher.hashed == 6
    counting_hasher.hashed = 0
    assert [login(client, "ann", pw) for pw in ("wrong", PASSWORD)] == [429, 429]
    assert counting_hasher.hashed == 0


def test_one_address_is_capped_across_usernames(client: Client, ann: User, settings: Any) -> None:
    settings.LOGIN_ADDRESS_FAILURE_LIMIT = 6
    # 3 usernames, 2 failures each: none reaches the limit per username, the address does
    statuses = [login(client, name, "wrong") for name in ("bob", "cat", "dan") for _ in range(2)]
    assert statuses == [200] * 5 + [429]
    assert login(client, "ann", PASSWORD) == 429
    assert login(Client(), "ann", PASSWORD, REMOTE_ADDR="192.0.2.7") == 302


def test_the_lock_ends_after_the_cool_off(client: Client, ann: User) -> None:
    for _ in range(5):
        login(client, "ann", "wrong")
    assert login(client, "ann", PASSWORD) == 429
    # time passes: the failures are as old as the cool-off, and one second more
    AccessAttempt.objects.update(attempt_time=timezone.now() - settings.AXES_COOLOFF_TIME - timedelta(seconds=1))
    assert login(client, "ann", PASSWORD) == 302


def test_a_success_forgets_earlier_failures(client: Client, ann: User) -> None:
    for _ in range(4):
        login(client, "ann", "wrong")
    assert login(client, "ann", PASSWORD) == 302
    client.post("/logout/")
    assert [login(client, "ann", "wrong") for _ in range(4)] == [200] * 4


def test_axes_reset_unlocks(client: Client, ann: User) -> None:
    for _ in range(5):
        login(client, "ann", "wrong")
    call_command("axes_reset_username", "ann", stdout=io.StringIO())
    assert login(client, "ann", PASSWORD) == 302


@pytest.mark.parametrize(
    ("trusted", "forwarded", "counted"),
    [
        (True, "198.51.100.4", "198.51.100.4"),
        (True, "198.51.100.4, 203.0.113.9", "198.51.100.4"),
        (True, "::ffff:198.51.100.4", "198.51.100.4"),
        (True, "not-an-address", "127.0.0.1"),
        (False, "198.51.100.4", "127.0.0.1"),
    ],
)
def test_which_address_counts(
    client: Client, db: None, settings: Any, trusted: bool, forwarded: str, counted: str
) -> None:
    settings.LOGIN_TRUST_X_FORWARDED_FOR = trusted
    login(client, "ann", "wrong", HTTP_X_FORWARDED_FOR=forwarded)
    assert list(AccessAttempt.objects.values_list("ip_address", flat=True)) == [counted]


def test_authenticate_without_a_request_and_createsuperuser_still_work(ann: User, db: None) -> None:
    # the test client's login() and shell scripts call authenticate() without a request
    assert authenticate(username="ann", password=PASSWORD) == ann
    assert Client().login(username="ann", password=PASSWORD)
    call_command("createsuperuser", interactive=False, username="root", email="root@example.com", stdout=io.StringIO())
    assert User.objects.get(username="root").is_superuser


def test_through_pushpin_the_client_cannot_choose_its_address(stack: Stack) -> None:
    # the shared stack's Pushpin renders the app's pushpin.conf: the X-Forwarded-For
    # Django gets is the address the client connects from, whatever the client sent
    name = "xff-probe"
    web = WebSession(stack.url("").rstrip("/"))
    form = web.request("GET", "/login/")
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', form.body)
    assert token, form.status
    try:
        answer = web.request(
            "POST",
            "/login/",
            {"username": name, "password": "wrong", "csrfmiddlewaretoken": token.group(1)},
            headers={"X-Forwarded-For": "198.51.100.4"},
        )
        assert answer.status == 200
        rows = stack.sql("SELECT ip_address, failures_since_start FROM axes_accessattempt WHERE username = ?", (name,))
        assert rows == [("127.0.0.1", 1)]
    finally:
        stack.sql("DELETE FROM axes_accessattempt WHERE username = ?", (name,))
