from django.apps import AppConfig


class DashboardsLiveConfig(AppConfig):
    name = "dashboards_live"
    verbose_name = "Live dashboards"

    def ready(self) -> None:
        from dashboards_live import conf
        from dashboards_live.web import checks, revocation  # noqa: F401  (importing checks registers them)
        from dashboards_live.web.channels import ChannelRules

        # a malformed setting stops every process at start, with one line naming
        # it (manage.py exits 2), instead of failing deep inside the first publish
        conf.check()
        ChannelRules.checked()
        revocation.connect()
