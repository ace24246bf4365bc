from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from typing import Any

import pytest
from django.contrib.auth.models import Group, User
from django.test import Client

from dashboards_live.web import revocation

pytestmark = pytest.mark.django_db

Kick = tuple[str, str]


@pytest.fixture
def kicks(monkeypatch: pytest.MonkeyPatch, settings) -> list[Kick]:
    settings.DASHBOARDS_CHANNELS = {"sales": "group:sales", "ops.*": "staff", "team": "authenticated"}
    sent: list[Kick] = []
    monkeypatch.setattr(revocation, "end_streams", lambda user_id, marker, reason: sent.append((user_id, marker)))
    return sent


@pytest.fixture
def commit(django_capture_on_commit_callbacks) -> Callable[[], AbstractContextManager[object]]:
    """Kicks are sent when the transaction commits: run the callbacks at the block's end."""
    return lambda: django_capture_on_commit_callbacks(execute=True)


def test_nothing_is_sent_before_the_commit(kicks: list[Kick], sales: Group, commit) -> None:
    ann = member("ann", sales)
    with commit():
        ann.groups.remove(sales)
        assert kicks == []
    assert kicks == [(str(ann.pk), "access-group%3Asales")]


@pytest.fixture
def sales() -> Group:
    return Group.objects.create(name="sales")


def member(name: str, group: Group, **flags: Any) -> User:
    user = User.objects.create_user(name, **flags)
    user.groups.add(group)
    return user


def test_leaving_a_group_ends_that_rule_only(kicks: list[Kick], sales: Group, commit) -> None:
    ann = member("ann", sales)
    other = Group.objects.create(name="unused-by-rules")
    ann.groups.add(other)
    with commit():
        ann.groups.remove(other)  # no rule names it: nothing to end
        ann.groups.remove(sales)
    assert kicks == [(str(ann.pk), "access-group%3Asales")]


def test_removal_from_the_group_side_and_clear_and_delete(kicks: list[Kick], sales: Group, commit) -> None:
    ann, bob, carl, dora = (member(n, sales) for n in ("ann", "bob", "carl", "dora"))
    with commit():
        sales.user_set.remove(ann)
        bob.groups.clear()
    assert kicks == [(str(ann.pk), "access-group%3Asales"), (str(bob.pk), "access-group%3Asales")]
    kicks.clear()
    with commit():
        sales.delete()
    assert sorted(kicks) == sorted([(str(carl.pk), "access-group%3Asales"), (str(dora.pk), "access-group%3Asales")])


def test_superusers_keep_group_access(kicks: list[Kick], sales: Group, commit) -> None:
    root = member("root", sales, is_superuser=True)
    with commit():
        root.groups.remove(sales)
    assert kicks == []


def test_losing_staff_superuser_or_active_status(kicks: list[Kick], commit) -> None:
    eve = User.objects.create_user("eve", is_staff=True)
    root = User.objects.create_user("root", is_superuser=True)
    gone = User.objects.create_user("gone")
    with commit():
        eve.first_name = "Eve"
        eve.save()  # no flag changed
    assert kicks == []
    with commit():
        eve.is_staff = False
        eve.save()
        root.is_superuser = False
        root.save()
        gone.is_active = False
        gone.save()
    assert kicks == [
        (str(eve.pk), "access-staff"),
        (str(root.pk), "access-authenticated"),
        (str(gone.pk), "access-authenticated"),
    ]


def test_deleting_a_user_ends_their_streams(kicks: list[Kick], commit) -> None:
    user = User.objects.create_user("temp")
    pk = user.pk
    with commit():
        user.delete()
    assert kicks == [(str(pk), "access-authenticated")]


def test_logging_in_sends_nothing_and_logging_out_ends_private_streams(
    kicks: list[Kick], client: Client, commit
) -> None:
    user = User.objects.create_user("ann", password="pw-for-tests")
    with commit():
        assert client.login(username="ann", password="pw-for-tests")  # saves last_login only
    assert kicks == []
    with commit():
        client.post("/logout/")
    assert kicks == [(str(user.pk), "access-authenticated")]


def test_nothing_is_sent_when_every_channel_is_public(kicks: list[Kick], settings, client: Client, commit) -> None:
    settings.DASHBOARDS_CHANNELS = {"*": "public"}
    User.objects.create_user("ann", password="pw-for-tests")
    client.login(username="ann", password="pw-for-tests")
    with commit():
        client.post("/logout/")
    assert kicks == []


def test_an_unreachable_pushpin_is_logged_not_raised(settings, caplog: pytest.LogCaptureFixture) -> None:
    from tests.support.stack import free_port

    settings.GRIP_URL = f"http://127.0.0.1:{free_port()}?key=k"
    settings.DASHBOARDS_PUBLISH_TIMEOUT = 1
    revocation.end_streams("7", "access-staff", "Staff status removed.")
    assert "could not end the streams of user 7" in caplog.text
