"""django-dashboards dashboards: live ones beside an ordinary one."""

from dashboards.component import Stat
from dashboards.dashboard import Dashboard
from dashboards.permissions import IsAdminUser
from dashboards.registry import registry

from dashboards_live.contrib.django_dashboards import LiveDashboard, SSEChart, SSEStat


class ShopDashboard(LiveDashboard):
    channel = "test"  # the channel and key the seed's snippet sends on
    sse_stat = SSEStat(poll_rate=1)
    revenue = SSEChart()
    visitors = Stat(value={"text": "1,204", "sub_text": "ordinary"})


class StaffDashboard(LiveDashboard):
    channel = "staffshop"
    orders = SSEStat()

    class Meta:
        permission_classes = [IsAdminUser]


class PlainDashboard(Dashboard):  # type: ignore[misc]
    visitors = Stat(value={"text": "42", "sub_text": "plain"})


registry.register(ShopDashboard)
registry.register(StaffDashboard)
registry.register(PlainDashboard)
