import os

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
django.setup(set_prefix=False)

from dashboards_live.web.streams import Application  # noqa: E402  (needs the apps loaded)

# /events/ on a handler with only the middleware a stream connect needs
application = Application()
