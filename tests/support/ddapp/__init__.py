"""A django-dashboards project with live components: its settings, URLs and dashboards (tests only)."""
