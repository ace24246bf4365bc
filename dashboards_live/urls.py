"""The app's URLs: mount them with one include() under any prefix.

    path("", include("dashboards_live.urls"))

The pages link to the stream and fragment URLs by reversing these names, so
moving the include moves everything with it.
"""

from __future__ import annotations

from django.urls import path

from dashboards_live.web import views

app_name = "dashboards_live"

urlpatterns = [
    path("dashboards/", views.dashboard_index, name="index"),
    path("dashboards/<str:name>/", views.dashboard_page, name="dashboard"),
    path("demo/<str:channel>/", views.demo_dashboard, name="demo-channel"),
    path("fragments/<str:channel>/<str:key>/", views.fragment, name="fragment"),
    path("events/<str:channel>/", views.events, name="events"),
]
