"""The short road for stream connects, for any project: one line in its wsgi.py.

    # myproject/wsgi.py
    from dashboards_live.web.wsgi import get_wsgi_application

    application = get_wsgi_application()

It is Django's own get_wsgi_application(), except that requests for the app's
events URL run through DASHBOARDS_STREAM_MIDDLEWARE only (security, session,
auth by default) instead of the project's whole MIDDLEWARE (docs/capacity.md
has what that saves per connect). With DEBUG on it also serves static files
(the app's script and stylesheet, django-htmx's htmx) as runserver does, so a
project runs under gunicorn in development with nothing more; in production
(DEBUG off) serve them as for any Django project (collectstatic, WhiteNoise).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

import django

WSGIApplication = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


def get_wsgi_application() -> WSGIApplication:
    django.setup(set_prefix=False)
    # imported once settings are configured: django_grip reads them at import,
    # and a project's wsgi.py imports this module before it sets DJANGO_SETTINGS_MODULE
    from django.apps import apps
    from django.conf import settings

    from dashboards_live.web.streams import Application

    application = Application()
    if settings.DEBUG and settings.STATIC_URL and apps.is_installed("django.contrib.staticfiles"):
        from django.contrib.staticfiles.handlers import StaticFilesHandler

        return StaticFilesHandler(application)  # type: ignore[arg-type]  # any WSGI app will do
    return application
