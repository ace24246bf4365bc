from django.urls import include, path

urlpatterns = [path("live/", include("dashboards_live.urls"))]
