from __future__ import annotations

from dashboards_live.contract import Event


def test_publish_holds_the_channels_from_storing_to_posting() -> None:
    from tests.support.fakes import fake_engine

    engine = fake_engine(stored=True)
    engine.publish([Event("b", "x", "1"), Event("a", "x", "1"), Event("a", "y", "2")])
    assert engine.store.serializations == [["a", "b"]]  # type: ignore[attr-defined]
