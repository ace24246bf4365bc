from django.apps import AppConfig


class DashappConfig(AppConfig):
    name = "tests.support.dashapp"

    def ready(self) -> None:
        from . import signals  # noqa: F401  (connects the receivers)
