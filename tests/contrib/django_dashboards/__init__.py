"""dashboards_live.contrib.django_dashboards, with django-dashboards installed (the [django-dashboards] extra)."""
