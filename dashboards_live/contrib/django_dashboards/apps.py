from django.apps import AppConfig


class DjangoDashboardsLiveConfig(AppConfig):
    name = "dashboards_live.contrib.django_dashboards"
    label = "dashboards_live_django_dashboards"
    verbose_name = "Live dashboards for django-dashboards"

    def ready(self) -> None:
        from dashboards_live.contrib.django_dashboards import checks  # noqa: F401  (importing registers them)
