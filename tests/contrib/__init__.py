"""Tests of dashboards_live.contrib, one folder per integration."""
