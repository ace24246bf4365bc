"""The runpushpinstats command in-process (call_command); with a real Pushpin in tests/integration/test_viewers.py."""

from __future__ import annotations

import io
import threading
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from dashboards_live.models import Viewers
from tests.running.test_pushpinstats import SUB_A3


@pytest.mark.django_db
def test_a_spec_zmq_cannot_use_exits_2() -> None:
    with pytest.raises(CommandError, match="--stats-spec: 'nonsense'") as info:
        call_command("runpushpinstats", "--stats-spec", "nonsense", "--duration", "1", stderr=io.StringIO())
    assert info.value.returncode == 2


@pytest.mark.django_db(transaction=True)  # the fake Pushpin's thread reads what the command stored
def test_it_stores_what_it_reads_and_forgets_it_when_it_stops(tmp_path: Path) -> None:
    import zmq

    spec = f"ipc://{tmp_path}/stats"
    context: zmq.Context[zmq.Socket[bytes]] = zmq.Context.instance()
    publisher = context.socket(zmq.PUB)
    publisher.setsockopt(zmq.LINGER, 0)
    publisher.bind(spec)
    seen: list[int] = []
    done = threading.Event()

    def pushpin() -> None:
        # a PUB drops what it sends before the reader connects: repeat, as Pushpin does
        while not done.wait(0.05):
            publisher.send(SUB_A3)
            seen.extend(Viewers.objects.filter(channel="chanA").values_list("subscribers", flat=True))

    thread = threading.Thread(target=pushpin)
    thread.start()
    out, err = io.StringIO(), io.StringIO()
    try:
        call_command(
            "runpushpinstats", "--stats-spec", spec, "--warmup", "0", "--duration", "1.5", stdout=out, stderr=err
        )
    finally:
        done.set()
        thread.join(5)
        publisher.close()
    assert 3 in seen, err.getvalue()
    assert not Viewers.objects.exists(), "a stopped reader leaves no count"
    assert "Done." in out.getvalue()
