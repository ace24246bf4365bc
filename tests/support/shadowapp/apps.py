from django.apps import AppConfig


class ShadowappConfig(AppConfig):
    """An app with templates under the names other dashboard apps use (django-dashboards' among them)."""

    name = "tests.support.shadowapp"
