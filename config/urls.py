from django.contrib import admin
from django.urls import path

from dashboards_live import views

urlpatterns = [
    path("", views.demo_dashboard, name="demo"),
    path("demo/<str:channel>/", views.demo_dashboard, name="demo-channel"),
    path("events/<str:channel>/", views.events, name="events"),
    path("admin/", admin.site.urls),
]
