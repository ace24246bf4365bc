"""The short road for stream connects, for any project: one line in its wsgi.py.

    # myproject/wsgi.py
    from dashboards_live.web.wsgi import get_wsgi_application

    application = get_wsgi_application()

It is Django's own get_wsgi_application(), except that requests for the app's
events URL run through DASHBOARDS_STREAM_MIDDLEWARE only (security, session,
auth by default) instead of the project's whole MIDDLEWARE (docs/capacity.md
has what that saves per connect).
"""

from __future__ import annotations

import django

from dashboards_live.web.streams import Application


def get_wsgi_application() -> Application:
    django.setup(set_prefix=False)
    return Application()
