"""The README's post_save recipe: push once the transaction that saved the row has committed."""

from typing import Any

from django.contrib.auth.models import User
from django.db import transaction
from django.db.models.signals import post_save
from django.dispatch import receiver

from dashboards_live import push

from .dashboards import Ops


@receiver(post_save, sender=User)
def user_saved(sender: type[User], instance: User, created: bool, **kwargs: Any) -> None:
    if created:
        transaction.on_commit(lambda: push(Ops.notes, f"{instance.username} signed up"))
