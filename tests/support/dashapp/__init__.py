"""A user's app, as the README's "Your own dashboard" section builds it: installed
with DASHBOARDS_APPS=tests.support.dashapp by the end-to-end tests, never imported by unit tests."""
