from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import path

from dashboards_live.web import views

urlpatterns = [
    path("", views.home, name="home"),
    path("dashboards/", views.dashboard_index, name="dashboards"),
    path("dashboards/<str:name>/", views.dashboard_page, name="dashboard"),
    path("demo/<str:channel>/", views.demo_dashboard, name="demo-channel"),
    path("fragments/<str:channel>/<str:key>/", views.fragment, name="fragment"),
    path("events/<str:channel>/", views.events, name="events"),
    # any active user (the admin's login only lets staff in)
    path("login/", auth_views.LoginView.as_view(), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("admin/", admin.site.urls),
]
