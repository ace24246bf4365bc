from __future__ import annotations

import datetime
from typing import Any

import pytest
from django.utils import timezone

from dashboards_live.contract import Event
from dashboards_live.publishing.storage import retention
from dashboards_live.publishing.storage.append import append_events

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def retention_settings(settings: Any) -> None:
    settings.DASHBOARDS_RETENTION = 3600.0
    settings.DASHBOARDS_RETENTION_EVENTS = 0


def kinds_and_ids(channel: str) -> list[tuple[str, int]]:
    from django_eventstream.models import Event as Row

    return list(Row.objects.filter(channel=channel, eid__gt=0).order_by("eid").values_list("type", "eid"))


def test_expired_events_are_trimmed_at_most_once_a_minute(monkeypatch: pytest.MonkeyPatch) -> None:
    from django_eventstream.models import Event as Row

    names = ["e0", "e1", "e2"]
    append_events([Event("old", name, "<p>1</p>") for name in names])
    Row.objects.filter(channel="old").update(created=timezone.now() - datetime.timedelta(days=2))
    # the simulated clock below (1000 s) is behind time.monotonic(): restore the real schedule afterwards
    monkeypatch.setattr(retention, "_next_trim", 0.0)
    assert retention.maybe_trim(now=1000.0) is True
    # all but the newest of each component: a late-join page still has something to show
    assert Row.objects.filter(channel="old", eid__gt=0).count() == len(names)
    assert retention.maybe_trim(now=1000.0 + retention.TRIM_EVERY - 1) is False
    assert retention.maybe_trim(now=1000.0 + retention.TRIM_EVERY) is True


@pytest.mark.usefixtures("retention_settings")
def test_trim_deletes_old_events_but_keeps_the_newest_of_every_component() -> None:
    from django_eventstream.models import Event as Row

    append_events([Event("t", "a", "1"), Event("t", "b", "1"), Event("t", "a", "2"), Event("t", "a", "3")])
    Row.objects.filter(channel="t").update(created=timezone.now() - datetime.timedelta(hours=2))
    append_events([Event("t", "a", "4")])
    assert retention.trim() == 3
    # b's only event is old, but the page needs it; a's old ones go, its newest stays
    assert kinds_and_ids("t") == [("b", 2), ("a", 5)]
    assert Row.objects.filter(channel="t", eid=0).exists()  # django-eventstream's placeholder stays


@pytest.mark.usefixtures("retention_settings")
def test_the_per_channel_cap_keeps_the_last_n_and_every_components_newest(settings: Any) -> None:
    settings.DASHBOARDS_RETENTION_EVENTS = 3
    append_events([Event("cap", "rare", "x")] + [Event("cap", "busy", str(i)) for i in range(9)])
    append_events([Event("other", "busy", str(i)) for i in range(3)])
    retention.trim()
    assert kinds_and_ids("cap") == [("rare", 1), ("busy", 8), ("busy", 9), ("busy", 10)]
    assert len(kinds_and_ids("other")) == 3


@pytest.mark.usefixtures("retention_settings")
def test_trim_works_in_batches() -> None:
    from django_eventstream.models import Event as Row

    append_events([Event("many", "a", str(i)) for i in range(25)])
    Row.objects.filter(channel="many").update(created=timezone.now() - datetime.timedelta(hours=2))
    assert retention.trim(batch=4) == 24
    assert kinds_and_ids("many") == [("a", 25)]


def test_a_bad_retention_setting_is_one_line_naming_it(settings: Any) -> None:
    from dashboards_live.conf import retention as retention_setting
    from dashboards_live.errors import ConfigError

    settings.DASHBOARDS_RETENTION_EVENTS = -1
    with pytest.raises(ConfigError, match="DASHBOARDS_RETENTION_EVENTS"):
        retention_setting()
