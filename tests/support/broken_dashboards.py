"""A dashboard declared wrong on purpose, loaded through DASHBOARDS_FEED_MODULES by tests/test_dashboards.py."""

from dashboards_live import Dashboard, Section, Stat


class Finance(Dashboard):
    channel = "finance"  # no DASHBOARDS_CHANNELS rule covers it
    revenue = Stat(title="Revenue")
    layout = [Section("Money", "revenue", "profit")]  # profit is not declared
