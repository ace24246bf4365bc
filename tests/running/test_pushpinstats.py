"""Decoding and adding up Pushpin's stats messages, on messages recorded from Pushpin 1.36."""

from __future__ import annotations

import pytest

from dashboards_live.running.pushpinstats import BadStats, PushpinStats, app_channel, decode, tnetstring

# recorded from Pushpin 1.36 (stats_format=json, then tnetstring), ttl 4 s, report every 2 s
SUB_A3 = b'sub J{"channel":"events-chanA","from":"pushpin-handler_10915","mode":"stream","subscribers":3,"ttl":4}'
SUB_A1 = b'sub J{"channel":"events-chanA","from":"pushpin-handler_10915","mode":"stream","subscribers":1,"ttl":4}'
SUB_B1 = b'sub J{"channel":"events-chanB","from":"pushpin-handler_10915","mode":"stream","subscribers":1,"ttl":4}'
UNSUB_B = b'sub J{"channel":"events-chanB","from":"pushpin-handler_10915","mode":"stream","unavailable":true}'
REPORT = (
    b'report J{"client-content-bytes-received":0,"client-content-bytes-sent":111,"client-header-bytes-received":0,'
    b'"client-header-bytes-sent":0,"client-messages-received":0,"client-messages-sent":0,"connections":4,'
    b'"duration":2000,"from":"pushpin-handler_10915","http-response-sent":0,"minutes":1,"received":1,"sent":3,'
    b'"server-content-bytes-received":0,"server-content-bytes-sent":0,"server-header-bytes-received":0,'
    b'"server-header-bytes-sent":0,"server-messages-received":0,"server-messages-sent":0}'
)
CONN = b'conn J{"from":"pushpin-handler_10915","id":"condure:0-1-3","peer-address":"127.0.0.1","ttl":4,"type":"http"}'
MESSAGE = (
    b'message J{"channel":"events-chanA","count":3,"from":"pushpin-handler_10915","item-id":"1",'
    b'"transport":"http-stream"}'
)
SUB_A3_TNET = (
    b"sub T103:3:ttl,1:4#11:subscribers,1:3#4:from,21:pushpin-handler_10033,4:mode,6:stream,7:channel,12:events-chanA,}"
)
UNSUB_B_TNET = (
    b"sub T96:4:from,21:pushpin-handler_10033,4:mode,6:stream,11:unavailable,4:true!7:channel,12:events-chanB,}"
)


def test_decode_json_and_tnetstring_alike() -> None:
    assert decode(SUB_A3) == (
        "sub",
        {"channel": "events-chanA", "from": "pushpin-handler_10915", "mode": "stream", "subscribers": 3, "ttl": 4},
    )
    assert decode(SUB_A3_TNET) == (
        "sub",
        {"channel": "events-chanA", "from": "pushpin-handler_10033", "mode": "stream", "subscribers": 3, "ttl": 4},
    )
    assert decode(UNSUB_B_TNET)[1]["unavailable"] is True


def test_tnetstring_types() -> None:
    assert tnetstring(b"0:~") == (None, b"")
    assert tnetstring(b"2:-5#rest") == (-5, b"rest")
    assert tnetstring(b"3:1.5^") == (1.5, b"")
    assert tnetstring(b"5:false!") == (False, b"")
    assert tnetstring(b"8:1:a,1:b,]") == (["a", "b"], b"")


@pytest.mark.parametrize(
    "frame",
    [b"sub", b"sub ", b"sub X{}", b"sub J{not json", b"sub J[1]", b"sub T9:3:ttl,1:4#}", b"sub T5:1:a,1:1#?"],
)
def test_bad_messages_are_refused(frame: bytes) -> None:
    with pytest.raises(BadStats):
        decode(frame)


def test_app_channel() -> None:
    assert app_channel("events-demo") == "demo"
    assert app_channel("events-a%20b") == "a b"
    assert app_channel("someone-elses") is None


def test_counts_follow_subscriptions_and_unsubscriptions() -> None:
    stats = PushpinStats()
    for frame in (CONN, SUB_A3, SUB_B1, MESSAGE):
        stats.feed(frame, now=100.0)
    assert stats.watching(100.0) == {"chanA": 3, "chanB": 1}
    stats.feed(SUB_A1, 101.0)
    stats.feed(UNSUB_B, 101.0)
    assert stats.watching(101.0) == {"chanA": 1}


def test_a_count_pushpin_stops_repeating_expires_with_its_ttl() -> None:
    stats = PushpinStats()
    stats.feed(SUB_A3, 100.0)
    assert stats.watching(103.9) == {"chanA": 3}
    stats.feed(SUB_A3, 103.0)  # repeated before the ttl ran out
    assert stats.watching(106.9) == {"chanA": 3}
    assert stats.watching(107.0) == {}


def test_several_pushpins_add_up() -> None:
    stats = PushpinStats()
    stats.feed(SUB_A3, 100.0)
    stats.feed(SUB_A3.replace(b"10915", b"777"), 100.0)
    stats.feed(SUB_A1, 100.5)  # the first Pushpin's count changed
    assert stats.watching(101.0) == {"chanA": 4}


def test_reports_add_to_the_counters_and_give_the_connections() -> None:
    stats = PushpinStats()
    assert stats.connections(100.0) == 0
    stats.feed(REPORT, 100.0)
    stats.feed(REPORT, 102.0)
    assert (stats.totals.published, stats.totals.delivered, stats.totals.connection_minutes) == (2, 6, 2)
    assert stats.report_interval == 2.0
    assert stats.connections(102.0) == 4
    # three reports missed: that Pushpin's connections are no longer known
    assert stats.connections(108.0) == 0


def test_other_messages_and_other_channels_are_ignored() -> None:
    stats = PushpinStats()
    assert stats.feed(CONN, 100.0) == "conn"
    stats.feed(SUB_A3.replace(b"events-chanA", b"other-chan"), 100.0)
    stats.feed(SUB_A3.replace(b'"stream"', b'"response"'), 100.0)
    assert stats.watching(100.0) == {}
    assert stats.ignored == 1


def test_a_count_that_is_not_a_count_is_refused() -> None:
    with pytest.raises(BadStats, match="subscribers"):
        PushpinStats().feed(SUB_A3.replace(b":3,", b':"3",'), 100.0)
