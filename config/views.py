from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect

from dashboards_live.declaring import dashboards

DEMO_NAME = "demo"


def home(request: HttpRequest) -> HttpResponse:
    # the demo while it is installed (DASHBOARDS_FEED_MODULES), else the list
    if dashboards.autodiscover().get(DEMO_NAME) is not None:
        return redirect("dashboards_live:dashboard", name=DEMO_NAME)
    return redirect("dashboards_live:index")
