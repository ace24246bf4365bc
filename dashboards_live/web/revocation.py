"""Ending open streams when a user's access ends.

A stream of a non-public channel is marked with the rule that let it in
(`channels.access_channels`: `access-authenticated`, plus `access-staff` or
`access-group%3A<name>`). When a user logs out, leaves a group, stops being
staff or superuser, is deactivated or deleted, the streams of that user that
carry the lost mark are ended through Pushpin, as django-eventstream's
`channel_permission_changed` does for one channel: the browser receives a
stream-error "forbidden", the connection closes, and its next request is checked
again (403 when access is gone, a new stream when some other rule still allows).
Marks follow rules rather than channels because patterns ("ops.*") cannot be
listed.

Kicks are sent after the transaction commits, so a reconnect never sees the old
membership, and a Pushpin that is down is logged rather than breaking a logout
or an admin save.
"""

from __future__ import annotations

import logging
from typing import Any

from django.contrib.auth import get_user_model, user_logged_out
from django.contrib.auth.models import Group
from django.db import transaction
from django.db.models.signals import m2m_changed, post_delete, post_save, pre_delete, pre_save

from dashboards_live.errors import ConfigError, PublishError
from dashboards_live.publishing.delivery import DeliveryEngine
from dashboards_live.web.channels import AUTHENTICATED, GROUP, PUBLIC, STAFF, ChannelRules, access_channels

logger = logging.getLogger(__name__)

FLAGS = ("is_active", "is_staff", "is_superuser")


def end_streams(user_id: str, marker: str, reason: str) -> None:
    """End user `user_id`'s streams marked `marker` (the single edge to Pushpin)."""
    try:
        engine = DeliveryEngine.from_settings()
    except ConfigError as exc:
        logger.error("could not end the streams of user %s (%s): %s", user_id, marker, exc)
        return
    try:
        engine.end_streams(user_id, marker, reason)
    except PublishError as exc:
        logger.warning("could not end the streams of user %s (%s): %s", user_id, marker, exc)
    finally:
        engine.close()


def mark(rule: str) -> str:
    return access_channels(rule)[-1]


def used_rules() -> set[str]:
    return set(ChannelRules.from_settings().rules.values())


def revoke(user_id: Any, rule: str, reason: str) -> None:
    """After commit, end the streams user `user_id` holds under `rule`, if any rule uses it."""
    rules = used_rules()
    if rule == AUTHENTICATED:
        if not rules - {PUBLIC}:
            return
    elif rule not in rules:
        return
    marker, uid = mark(rule), str(user_id)
    transaction.on_commit(lambda: end_streams(uid, marker, reason))


def on_logged_out(sender: Any, request: Any, user: Any, **kwargs: Any) -> None:
    if user is not None and user.pk is not None:
        revoke(user.pk, AUTHENTICATED, "Logged out.")


def on_user_pre_save(sender: Any, instance: Any, update_fields: Any = None, **kwargs: Any) -> None:
    if instance.pk is None or (update_fields is not None and not set(FLAGS) & set(update_fields)):
        return
    instance._dashboards_flags = sender.objects.filter(pk=instance.pk).values(*FLAGS).first()


def on_user_post_save(sender: Any, instance: Any, created: bool, **kwargs: Any) -> None:
    old = instance.__dict__.pop("_dashboards_flags", None)
    if created or not old:
        return
    if old["is_active"] and not instance.is_active:
        revoke(instance.pk, AUTHENTICATED, "Account deactivated.")
    elif old["is_superuser"] and not instance.is_superuser:
        # a superuser passed every rule: end them all, the reconnects are checked again
        revoke(instance.pk, AUTHENTICATED, "Superuser status removed.")
    elif old["is_staff"] and not instance.is_staff and not instance.is_superuser:
        revoke(instance.pk, STAFF, "Staff status removed.")


def on_user_deleted(sender: Any, instance: Any, **kwargs: Any) -> None:
    revoke(instance.pk, AUTHENTICATED, "Account deleted.")


def _left_group(user: Any, group_name: str) -> None:
    if not user.is_superuser:
        revoke(user.pk, GROUP + group_name, f"Removed from group {group_name}.")


def on_groups_changed(sender: Any, instance: Any, action: str, reverse: bool, pk_set: Any, **kwargs: Any) -> None:
    user_model = get_user_model()
    if action == "pre_clear":
        # the ids are gone by post_clear: remember them
        if reverse:
            instance._dashboards_cleared = list(instance.user_set.all())
        else:
            instance._dashboards_cleared = list(instance.groups.values_list("name", flat=True))
        return
    if action == "post_clear":
        cleared = instance.__dict__.pop("_dashboards_cleared", [])
        if reverse:
            for user in cleared:
                _left_group(user, instance.name)
        else:
            for name in cleared:
                _left_group(instance, name)
        return
    if action != "post_remove" or not pk_set:
        return
    if reverse:
        for user in user_model.objects.filter(pk__in=pk_set):
            _left_group(user, instance.name)
    else:
        for name in Group.objects.filter(pk__in=pk_set).values_list("name", flat=True):
            _left_group(instance, name)


def on_group_pre_delete(sender: Any, instance: Any, **kwargs: Any) -> None:
    instance._dashboards_members = list(instance.user_set.all())


def on_group_deleted(sender: Any, instance: Any, **kwargs: Any) -> None:
    for user in instance.__dict__.pop("_dashboards_members", []):
        _left_group(user, instance.name)


def connect() -> None:
    user_model = get_user_model()
    uid = "dashboards_live.web.revocation"
    user_logged_out.connect(on_logged_out, dispatch_uid=uid)
    pre_save.connect(on_user_pre_save, sender=user_model, dispatch_uid=uid)
    post_save.connect(on_user_post_save, sender=user_model, dispatch_uid=uid)
    post_delete.connect(on_user_deleted, sender=user_model, dispatch_uid=uid)
    m2m_changed.connect(on_groups_changed, sender=user_model.groups.through, dispatch_uid=uid)
    pre_delete.connect(on_group_pre_delete, sender=Group, dispatch_uid=uid)
    post_delete.connect(on_group_deleted, sender=Group, dispatch_uid=uid)
