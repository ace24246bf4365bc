from django.apps import AppConfig


class DashboardsLiveConfig(AppConfig):
    name = "dashboards_live"
    verbose_name = "Live dashboards"

    def ready(self) -> None:
        from dashboards_live import checks, revocation  # noqa: F401  (importing checks registers them)

        revocation.connect()
