"""The reference project's settings plus django-dashboards and the live components for it."""

from config.settings import *  # noqa: F403
from config.settings import INSTALLED_APPS

INSTALLED_APPS = [*INSTALLED_APPS, "dashboards", "dashboards_live.contrib.django_dashboards", "tests.support.ddapp"]
ROOT_URLCONF = "tests.support.ddapp.urls"
