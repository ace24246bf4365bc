from __future__ import annotations

import pytest
from django.core.exceptions import ImproperlyConfigured

from config.env import envmap


def test_envmap_keeps_order_and_allows_colons_in_values(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("X", " ops.*=staff, sales=group:Sales team,demo=public ,")
    assert list(envmap("X", {}).items()) == [("ops.*", "staff"), ("sales", "group:Sales team"), ("demo", "public")]


def test_envmap_default_and_bad_items(monkeypatch: pytest.MonkeyPatch) -> None:
    assert envmap("UNSET_FOR_SURE", {"demo": "public"}) == {"demo": "public"}
    monkeypatch.setenv("X", "demo=public,sales")
    with pytest.raises(ImproperlyConfigured, match="'sales'"):
        envmap("X", {})
