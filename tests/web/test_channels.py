from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth.models import AnonymousUser, Group, User
from django.http import HttpRequest

from dashboards_live.web.channels import ChannelManager, ChannelRules, InvalidRule, access_channels, validate_rule

RULES = ChannelRules({"sales": "group:sales", "ops.eu": "public", "ops.*": "staff", "*.team": "authenticated"})


@pytest.mark.parametrize(
    ("channel", "rule"),
    [
        ("sales", "group:sales"),
        ("ops.eu", "public"),  # an exact name wins over a pattern written before it
        ("ops.us", "staff"),
        ("ops.team", "staff"),  # the first matching pattern wins
        ("red.team", "authenticated"),
        ("demo", "public"),  # the demo channel is public unless listed
        ("unlisted", None),  # deny by default
        ("Sales", None),  # names are case-sensitive
        ("bad name", None),
    ],
)
def test_rule_for_a_channel(channel: str, rule: str | None) -> None:
    assert RULES.rule_for(channel) == rule


def test_a_listed_demo_channel_follows_its_rule() -> None:
    assert ChannelRules({"demo": "staff"}).rule_for("demo") == "staff"
    assert ChannelRules({"*": "authenticated"}).rule_for("demo") == "authenticated"


@pytest.mark.parametrize("rule", ["public", "authenticated", "staff", "group:sales", "group:Sales team"])
def test_valid_rules(rule: str) -> None:
    assert validate_rule(rule) == rule


@pytest.mark.parametrize("rule", ["", "group:", "group: ", "admin", "Public", None, 1])
def test_invalid_rules(rule: object) -> None:
    with pytest.raises(InvalidRule):
        validate_rule(rule)


@pytest.mark.django_db
def test_who_meets_which_rule() -> None:
    sales = Group.objects.create(name="sales")
    member = User.objects.create_user("member")
    member.groups.add(sales)
    other = User.objects.create_user("other")
    staff = User.objects.create_user("staff", is_staff=True)
    root = User.objects.create_user("root", is_superuser=True)
    gone = User.objects.create_user("gone", is_active=False, is_staff=True)
    gone.groups.add(sales)
    rules = ChannelRules({"sales": "group:sales", "ops": "staff", "team": "authenticated", "broken": "nonsense"})

    readable = {
        name: {c for c in ("sales", "ops", "team", "broken", "demo", "unlisted") if rules.can_read(user, c)}
        for name, user in [
            ("anonymous", AnonymousUser()),
            ("none", None),
            ("member", member),
            ("other", other),
            ("staff", staff),
            ("root", root),
            ("gone", gone),
        ]
    }
    assert readable == {
        "anonymous": {"demo"},
        "none": {"demo"},
        "member": {"demo", "team", "sales"},
        "other": {"demo", "team"},
        "staff": {"demo", "team", "ops"},
        "root": {"demo", "team", "ops", "sales", "broken"},  # superusers pass every rule
        "gone": {"demo"},  # inactive users count as anonymous
    }


def test_streams_are_marked_with_the_rule_that_let_them_in() -> None:
    assert access_channels("public") == []
    assert access_channels("authenticated") == ["access-authenticated"]
    assert access_channels("staff") == ["access-authenticated", "access-staff"]
    assert access_channels("group:Sales team") == ["access-authenticated", "access-group%3ASales%20team"]


def test_channel_manager_reads_only_the_url_channel_and_follows_the_setting(settings) -> None:
    settings.DASHBOARDS_CHANNELS = {"open": "public"}
    manager = ChannelManager()
    assert manager.get_channels_for_request(HttpRequest(), {"channel": "open"}) == {"open"}
    assert manager.get_channels_for_request(HttpRequest(), {"channel": "bad name"}) == set()
    assert manager.can_read_channel(None, "open")
    assert not manager.can_read_channel(None, "closed")


def test_an_anonymous_visitor_cannot_tell_a_private_channel_from_an_unknown_one(settings: Any) -> None:
    from django.contrib.auth.models import AnonymousUser

    from dashboards_live.web.channels import refusal

    settings.DASHBOARDS_CHANNELS = {"vault": "staff", "sales": "group:sales"}
    texts = {refusal(AnonymousUser(), channel) or "" for channel in ("vault", "sales", "nosuch", "other")}
    assert {text.replace(text.split("'")[1], "X") for text in texts} == {"Channel 'X' needs a login."}
