"""The events path answered by bench.urls.hold_only, for bench/django_hold.py."""

from django.urls import path

from bench.urls import hold_only

urlpatterns = [path("events/<str:channel>/", hold_only)]
