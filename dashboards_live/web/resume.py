"""Where a stream request resumes, and for whom: checked before django-eventstream reads it.

django-eventstream parses Last-Event-ID, lastEventId and es-meta itself and
answers a malformed one with a 500 (a ValueError, a JWT error): anyone could
fill the error log. And with es-meta present it streams the channels the meta
names, for the user it names, whatever the URL says. So the events view reads
them here first: malformed is a BadStreamRequest (a 400), and the reader a
valid es-meta names is who the channel rule is checked for.
"""

from __future__ import annotations

import re
import time
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import AnonymousUser
from django.http import HttpRequest

# one channel's part of a browser id: django-eventstream's make_id, "<channel>:<number>"
ID_PART = re.compile(r"[A-Za-z0-9_.%-]{1,192}:[0-9]{1,19}")
# what django-eventstream puts in a Last-Event-ID after a stream-error: no resume, it refuses itself
NO_RESUME = "error"


class BadStreamRequest(ValueError):
    """A Last-Event-ID, lastEventId or es-meta that is not one this app (or Pushpin) sends."""


def check_last_ids(request: HttpRequest) -> None:
    """Every id the request resumes from is `<channel>:<number>[,...]` (or django-eventstream's own "error")."""
    given = [request.META.get("HTTP_LAST_EVENT_ID", ""), *request.GET.getlist("lastEventId")]
    for raw in given:
        if raw and raw != NO_RESUME and not all(ID_PART.fullmatch(part) for part in raw.split(",")):
            shown = raw if len(raw) <= 40 else raw[:40] + "..."
            raise BadStreamRequest(f"not a stream id: {shown!r} (expected <channel>:<number>)")


def meta_reader(request: HttpRequest, channel: str) -> Any:
    """The user a valid es-meta names (AnonymousUser for "anonymous"); None without es-meta.

    es-meta is the signed note django-eventstream leaves in Pushpin's follow-up
    links: it must verify, be unexpired, and name this URL's channel only.
    """
    import jwt

    raw = request.GET.get("es-meta")
    if not raw:
        return None
    try:
        claims = jwt.decode(raw, settings.SECRET_KEY.encode("utf-8"), algorithms=["HS256"])
    except jwt.PyJWTError:
        raise BadStreamRequest("es-meta is not valid") from None
    if not isinstance(claims, dict) or not isinstance(claims.get("exp"), int) or claims["exp"] <= time.time():
        raise BadStreamRequest("es-meta is expired or incomplete")
    if claims.get("channels", [channel]) != [channel]:
        raise BadStreamRequest("es-meta is for another channel")
    user = claims.get("user", "anonymous")
    if user == "anonymous":
        return AnonymousUser()
    try:
        return get_user_model().objects.get(pk=user)
    except (get_user_model().DoesNotExist, ValueError, TypeError):
        raise BadStreamRequest("es-meta names no user") from None
