"""The events path answered by bench.urls.hold_only, for bench/django_hold.py.

Mounted under the app's namespace, so the short road (dashboards_live.web.wsgi)
finds the events prefix as it does in the project; the view verifies Pushpin's
signature as the app's events view does (grip_view), and does nothing else.
"""

from django.urls import include, path

from bench.urls import hold_only
from dashboards_live.web.streams import grip_view

events = [path("events/<str:channel>/", grip_view(hold_only), name="events")]
urlpatterns = [path("", include((events, "dashboards_live")))]
