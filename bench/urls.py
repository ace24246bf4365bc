"""The project's URLs plus a hold-only view, for bench/connect_cost.py."""

from django.http import HttpRequest, HttpResponse
from django.urls import path

from config.urls import urlpatterns as project_urls


def hold_only(request: HttpRequest) -> HttpResponse:
    response = HttpResponse("event: stream-open\ndata:\n\n", content_type="text/event-stream")
    response["Grip-Hold"] = "stream"
    response["Grip-Channel"] = "events-demo"
    return response


urlpatterns = [path("bench-hold/", hold_only), *project_urls]
