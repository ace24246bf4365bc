import os

from dashboards_live.web.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

# stream connects take the app's short road (only the middleware they need)
application = get_wsgi_application()
