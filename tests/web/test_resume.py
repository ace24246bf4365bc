"""Malformed resume ids and es-meta are 400s, never 500s, and es-meta cannot step around the channel rule."""

from __future__ import annotations

import time
from typing import Any

import jwt
import pytest
from django.conf import settings
from django.contrib.auth.models import User
from django.test import Client

from dashboards_live.contract import Event
from dashboards_live.publishing.storage import EventStore
from tests.web.test_views import grip_sig

pytestmark = pytest.mark.django_db


def meta(channels: list[str], user: str = "anonymous", exp_in: int = 3600, key: str | None = None) -> str:
    claims = {"iss": "es", "exp": int(time.time()) + exp_in, "channels": channels, "user": user}
    return jwt.encode(claims, (key or settings.SECRET_KEY).encode(), algorithm="HS256")


def stream(client: Client, path: str, **headers: Any) -> Any:
    return client.get(path, HTTP_GRIP_SIG=grip_sig(), **headers)


@pytest.fixture(autouse=True)
def rules(settings: Any) -> None:
    settings.DASHBOARDS_CHANNELS = {"demo": "public", "vault": "staff"}
    EventStore().append([Event("demo", "sse_stat", "<b>1</b>")])


@pytest.mark.parametrize("last", ["demo:abc", "demo", "demo:1:2", "x" * 500, "demo:-1", "demo:1,"])
def test_a_malformed_last_event_id_is_a_400(client: Client, last: str) -> None:
    response = stream(client, "/events/demo/", HTTP_LAST_EVENT_ID=last)
    assert response.status_code == 400 and b"not a stream id" in response.content
    response = stream(client, f"/events/demo/?lastEventId={last}")
    assert response.status_code == 400


@pytest.mark.parametrize("last", ["demo:0", "demo:1", "demo%2Fx:3,demo:1"])
def test_well_formed_ids_stream(client: Client, last: str) -> None:
    assert stream(client, "/events/demo/", HTTP_LAST_EVENT_ID=last).status_code == 200


@pytest.mark.parametrize(
    "value",
    ["garbage", meta(["demo"], key="not the secret"), meta(["demo"], exp_in=-10), meta(["demo"], user="999999")],
)
def test_a_bad_es_meta_is_a_400(client: Client, value: str) -> None:
    response = stream(client, f"/events/demo/?es-meta={value}")
    assert response.status_code == 400 and b"es-meta" in response.content


def test_es_meta_for_another_channel_is_a_400(client: Client) -> None:
    response = stream(client, f"/events/demo/?es-meta={meta(['vault'])}")
    assert response.status_code == 400


def test_es_meta_cannot_open_a_channel_its_reader_may_not_read(client: Client) -> None:
    ann = User.objects.create_user("ann")
    response = stream(client, f"/events/vault/?es-meta={meta(['vault'], user=str(ann.pk))}")
    assert response.status_code == 403
    boss = User.objects.create_user("boss", is_staff=True)
    assert stream(client, f"/events/vault/?es-meta={meta(['vault'], user=str(boss.pk))}").status_code == 200


def test_a_valid_es_meta_streams(client: Client) -> None:
    assert stream(client, f"/events/demo/?es-meta={meta(['demo'])}&link=next").status_code == 200
