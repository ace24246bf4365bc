from dashboards.registry import registry
from django.urls import include, path

from config.urls import urlpatterns as project

registry.autodiscover()  # django-dashboards builds its URLs from the dashboards registered by then

urlpatterns = [*project, path("dd/", include("dashboards.urls"))]
