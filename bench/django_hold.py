"""Django's floor for a stream connect: the project's WSGI application and its
stream handler (DASHBOARDS_STREAM_MIDDLEWARE: security, session, auth) in
front of a view that verifies Pushpin's signature (grip_view, as the events
view does) and answers bench/raw_hold.py's hold headers, nothing else (no
channel rule, no last id, no django-eventstream). bench/fanout.py's "django-hold" rows: what Django itself
costs per connect beside the raw backend, before any of the events view's work.
"""

import os

import django
from django.conf import settings

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
django.setup(set_prefix=False)
settings.ROOT_URLCONF = "bench.hold_urls"  # read at the first request

from dashboards_live.web.wsgi import get_wsgi_application  # noqa: E402

app = get_wsgi_application()
