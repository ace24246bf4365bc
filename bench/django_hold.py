"""Django's floor for a stream connect: the project's WSGI application and its
stream handler (DASHBOARDS_STREAM_MIDDLEWARE: security, Grip signature,
session, auth) in front of a view that answers bench/raw_hold.py's hold
headers and does nothing else (no channel rule, no last id, no
django-eventstream). bench/fanout.py's "django-hold" rows: what Django itself
costs per connect beside the raw backend, before any of the events view's work.
"""

import os

import django
from django.conf import settings

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
django.setup(set_prefix=False)
settings.ROOT_URLCONF = "bench.hold_urls"  # read at the first request

from dashboards_live.web.streams import Application  # noqa: E402  (needs the apps loaded)

app = Application()
