"""The project's URLs plus a hold-only view, for bench/connect_cost.py."""

from django.http import HttpRequest, HttpResponse
from django.urls import path

from bench.raw_hold import BODY, HEADERS
from config.urls import urlpatterns as project_urls


def hold_only(request: HttpRequest, channel: str = "demo") -> HttpResponse:
    """The raw hold backend's answer, from a Django view."""
    response = HttpResponse(BODY)
    for name, value in HEADERS:
        response[name] = value
    return response


urlpatterns = [path("bench-hold/", hold_only), *project_urls]
