"""Signed requests only, channel rules and revocation, over real sockets.

Direct requests go to gunicorn's loopback port; everything else goes through
the real Pushpin, which signs what it forwards.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path

import jwt
import pytest

from tests.support.sse import SSEClient
from tests.support.stack import Stack
from tests.support.web import WebSession

pytestmark = pytest.mark.integration

PASSWORD = "a-Long-test-passw0rd"
RULES = "demo=public,sales=group:sales,ops.*=staff,members=authenticated"
USERS = {
    # name: (is_staff, groups). The stack is shared by the module and the tests run
    # in any order: a test that takes access away does it to a user of its own
    # (carl, dora, finn, gus), never to one that another test reads.
    "ann": (False, ["sales"]),
    "bob": (False, ["marketing"]),
    "carl": (False, ["sales"]),
    "dora": (False, ["sales"]),
    "eve": (True, []),
    "finn": (False, ["sales"]),
    "gus": (True, []),
}


def forged(key: str, *, iss: str = "pushpin", exp_in: int = 60) -> str:
    return jwt.encode({"iss": iss, "exp": int(time.time()) + exp_in}, key, algorithm="HS256")


def opened(client: SSEClient) -> bool:
    return client.status == 200 and bool(client.wait_for(lambda ev: any(e.event == "stream-open" for e in ev), 5))


def shell(stack: Stack, code: str) -> None:
    result = stack.manage("shell", "-c", code)
    assert result.returncode == 0, result.stderr


@pytest.fixture(scope="module")
def secure(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    s = Stack(Path(tmp_path_factory.mktemp("secure")))
    s.env["DASHBOARDS_CHANNELS"] = RULES
    lines = ["from django.contrib.auth.models import User, Group"]
    for name, (staff, groups) in USERS.items():
        lines.append(f"u = User.objects.create_user({name!r}, password={PASSWORD!r}, is_staff={staff})")
        lines.extend(f"u.groups.add(Group.objects.get_or_create(name={g!r})[0])" for g in groups)
    try:
        shell(s, "\n".join(lines))
        yield s.start()
    finally:
        s.close()


def session(stack: Stack, username: str | None = None) -> WebSession:
    web = WebSession(stack.url("").rstrip("/"))
    if username:
        web.login(username, PASSWORD)
    return web


# -- signed requests only ---------------------------------------------------------


@pytest.mark.parametrize(
    "sig",
    [
        lambda key: None,
        lambda key: forged("wrong-key"),
        lambda key: forged(key, exp_in=-10),
        lambda key: forged(key, iss="someone-else"),
        lambda key: "not-a-jwt",
    ],
    ids=["missing", "wrong-key", "expired", "wrong-issuer", "garbage"],
)
def test_direct_requests_to_django_get_403_and_no_stream(stack: Stack, sig: Callable[[str], str | None]) -> None:
    token = sig(stack.sig_key)
    headers = {"Grip-Sig": token} if token else {}
    with SSEClient(stack.web_url("/events/demo/"), headers=headers) as client:
        assert client.status == 403
        assert "Grip-Hold" not in client.headers
        body = client.body.decode()
        assert body.count("\n") == 1 and "no valid Grip-Sig" in body


def test_a_correctly_signed_direct_request_only_gets_hold_instructions(stack: Stack) -> None:
    # the proof that the refusals above are about the signature: Django answers at
    # once with instructions for Pushpin and streams nothing itself
    with SSEClient(stack.web_url("/events/demo/"), headers={"Grip-Sig": forged(stack.sig_key)}) as client:
        assert client.status == 200
        assert client.headers["Grip-Hold"] == "stream"
        assert client.closed.wait(5)


@pytest.mark.parametrize("sig", [None, "forged"])
def test_the_same_request_through_pushpin_is_a_stream(stack: Stack, sig: str | None) -> None:
    # Pushpin replaces whatever Grip-Sig the client sent with its own signature
    headers = {"Grip-Sig": forged("wrong-key")} if sig else {}
    with SSEClient(stack.url("/events/demo/"), headers=headers) as client:
        assert opened(client)
        assert "Grip-Hold" not in client.headers
        assert not client.closed.is_set()


# -- channel rules ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("user", "channel", "status", "reason"),
    [
        (None, "sales", 403, "needs a login"),
        (None, "unlisted", 403, "needs a login"),  # the same words: no map of the private channels
        (None, "members", 403, "needs a login"),
        ("bob", "sales", 403, "not readable by this account (rule: group:sales)"),
        ("bob", "ops.eu", 403, "not readable by this account (rule: staff)"),
        ("bob", "unlisted", 403, "not listed"),
        (None, "demo", 200, ""),
        ("bob", "members", 200, ""),
        ("ann", "sales", 200, ""),
        ("eve", "ops.eu", 200, ""),
    ],
)
def test_streams_follow_the_channel_rules_through_pushpin(
    secure: Stack, user: str | None, channel: str, status: int, reason: str
) -> None:
    web = session(secure, user)
    with web.stream(channel) as client:
        assert client.status == status
        if status == 403:
            body = client.body.decode()
            assert reason in body and body.count("\n") == 1
            assert client.headers["Content-Type"].startswith("text/plain")
        else:
            assert opened(client)


def test_the_right_user_receives_events_and_the_others_none(secure: Stack) -> None:
    ann, bob = session(secure, "ann"), session(secure, "bob")
    with ann.stream("sales") as allowed, bob.stream("sales") as refused:
        assert opened(allowed) and refused.status == 403
        shell(
            secure,
            "from dashboards_live.contract import make_event\nfrom dashboards_live.publishing.delivery import publish\n"
            "publish([make_event('sales', 'sse_stat', '<b>42</b>')])",
        )
        got = allowed.wait_for(lambda ev: any(e.event == "sse_stat" for e in ev), 10)
    assert [e.data for e in got if e.event == "sse_stat"] == ["<b>42</b>"]


@pytest.mark.parametrize(
    ("user", "path", "status"),
    [
        (None, "/demo/sales/", 302),
        ("bob", "/demo/sales/", 403),
        ("ann", "/demo/sales/", 200),
        (None, "/dashboards/demo/", 200),
    ],
)
def test_dashboard_pages_follow_the_same_rules(secure: Stack, user: str | None, path: str, status: int) -> None:
    answer = session(secure, user).request("GET", path)
    assert answer.status == status
    if status == 302:
        assert answer.headers["Location"] == "/login/?next=/demo/sales/"


# -- revocation ---------------------------------------------------------------------


def assert_kicked(client: SSEClient) -> None:
    assert client.closed.wait(10), "the stream stayed open after access ended"
    errors = client.named("stream-error")
    assert len(errors) == 1 and '"condition": "forbidden"' in errors[0].data


def test_removing_the_group_ends_the_open_stream_and_only_that_one(secure: Stack) -> None:
    carl = session(secure, "carl")
    with carl.stream("sales") as private, carl.stream("demo") as public:
        assert opened(private) and opened(public)
        shell(
            secure,
            "from django.contrib.auth.models import User, Group\n"
            "User.objects.get(username='carl').groups.remove(Group.objects.get(name='sales'))",
        )
        assert_kicked(private)
        assert not public.closed.wait(1), "a public stream was ended too"
        with carl.stream("sales") as again:
            assert again.status == 403


def test_removing_members_from_the_group_side_ends_their_streams(secure: Stack) -> None:
    finn = session(secure, "finn")
    with finn.stream("sales") as client:
        assert opened(client)
        shell(
            secure,
            "from django.contrib.auth.models import User, Group\n"
            "Group.objects.get(name='sales').user_set.remove(User.objects.get(username='finn'))",
        )
        assert_kicked(client)


def test_logging_out_ends_the_open_stream(secure: Stack) -> None:
    dora = session(secure, "dora")
    with dora.stream("sales") as client:
        assert opened(client)
        dora.logout()
        assert_kicked(client)
    with dora.stream("sales") as again:
        assert again.status == 403 and b"needs a login" in again.body


def test_losing_staff_status_ends_the_staff_stream(secure: Stack) -> None:
    gus = session(secure, "gus")
    with gus.stream("ops.eu") as client:
        assert opened(client)
        shell(
            secure,
            "from django.contrib.auth.models import User\n"
            "u = User.objects.get(username='gus'); u.is_staff = False; u.save()",
        )
        assert_kicked(client)
    with gus.stream("ops.eu") as again:
        assert again.status == 403 and b"rule: staff" in again.body


# -- HTTPS behind Pushpin -------------------------------------------------------------


def test_only_pushpin_can_tell_django_a_request_came_over_https(tmp_path: Path) -> None:
    # DJANGO_HTTPS trusts X-Forwarded-Proto. Django listens on loopback behind
    # Pushpin, and Pushpin drops the header a plain-HTTP client sends.
    s = Stack(tmp_path / "https")
    s.env["DJANGO_HTTPS"] = "1"
    try:
        s.start()
        spoofed = WebSession(s.url("").rstrip("/"))
        for headers in ({}, {"X-Forwarded-Proto": "https"}):
            answer = spoofed.request("GET", "/", headers=headers)
            assert answer.status == 301 and answer.headers["Location"].startswith("https://")
        # what Pushpin sends when TLS ends in it: secure, cookies flagged Secure
        direct = WebSession(s.web_url("").rstrip("/"))
        page = direct.request("GET", "/login/", headers={"X-Forwarded-Proto": "https"})
        assert page.status == 200
        assert "Secure" in page.headers["Set-Cookie"]
    finally:
        s.close()
