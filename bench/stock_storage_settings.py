"""The reference project's settings with django-eventstream's own storage: bench/replay.py's "stock" row."""

from config.settings import *  # noqa: F403

EVENTSTREAM_STORAGE_CLASS = "django_eventstream.storage.DjangoModelStorage"
