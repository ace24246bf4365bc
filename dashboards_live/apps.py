from django.apps import AppConfig


class DashboardsLiveConfig(AppConfig):
    name = "dashboards_live"
    verbose_name = "Live dashboards"
