"""The app's configuration: at start-up, django-eventstream is pointed at our storage and every setting is checked."""

from django.apps import AppConfig
from django.conf import settings


class DashboardsLiveConfig(AppConfig):
    name = "dashboards_live"
    verbose_name = "Live dashboards"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from dashboards_live import conf
        from dashboards_live.web import checks, revocation  # noqa: F401  (importing checks registers them)
        from dashboards_live.web.channels import ChannelRules

        # django-eventstream reads these when it publishes or streams: unless the
        # project chose otherwise (a check error says why it should not), ours
        for name, value in conf.EVENTSTREAM_DEFAULTS.items():
            if not hasattr(settings, name):
                setattr(settings, name, value)
        # a malformed setting stops every process at start, with one line naming
        # it (manage.py exits 2), instead of failing deep inside the first publish
        conf.check()
        ChannelRules.checked()
        revocation.connect()
