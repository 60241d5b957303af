"""`BookRouter` through the Rust core's routing: every refusal counted by kind, and a re-entrant
call answered with a Python error, never a panic (issue 20 B6)."""

from __future__ import annotations

import json

import pytest

from mmcore import DECODE_ERROR_KINDS, ApplyStatus, BookRouter, DecodeError


def combined(symbol, body):
    return json.dumps({"stream": f"{symbol.lower()}@depth", "data": body})


def diff(symbol, u, bid, pu=True):
    body = {"e": "depthUpdate", "E": 1, "T": 1, "s": symbol, "U": u - 2, "u": u, "b": [[bid, "2"]]}
    body["a"] = []
    if pu:
        body["pu"] = u - 1
    return combined(symbol, body)


SNAPSHOT = json.dumps({"lastUpdateId": 10, "bids": [["100.0", "1"]], "asks": [["200.0", "1"]]})


@pytest.fixture
def router():
    r = BookRouter("binance-usdm", ["BTCUSDT", "ETHUSDT"], tick_size="0.5")
    assert r.apply_snapshot("BTCUSDT", SNAPSHOT) == ApplyStatus.APPLIED
    return r


def test_counters_name_every_kind(router):
    counters = router.counters()
    assert {f"refused_{k}" for k in DECODE_ERROR_KINDS} <= set(counters)
    assert counters["routed"] == 1


def test_each_refusal_is_counted_by_kind_and_changes_nothing(router):
    book = router.book("BTCUSDT")
    before = book.bids(10).tolist()
    cases = [
        (diff("BTCUSDT", 11, "100.2"), "off_grid"),
        (diff("BTCUSDT", 11, "100.5", pu=False), "missing_field"),
        (b'{"stream":', "bad_json"),
        (diff("BTCUSDT", 11, "1x"), "not_a_number"),
    ]
    for payload, kind in cases:
        with pytest.raises(DecodeError) as raised:
            router.apply(payload)
        assert raised.value.kind == kind
    counters = router.counters()
    for _, kind in cases:
        assert counters[f"refused_{kind}"] == 1, kind
    assert counters["malformed"] == 2
    assert book.bids(10).tolist() == before
    # A symbol not routed here is counted, not an error.
    assert router.apply(diff("XRPUSDT", 5, "1.0")) == (None, ApplyStatus.IGNORED)
    assert router.counters()["unknown_symbol"] == 1
    assert router.unrouted == 1


def test_a_reentrant_call_is_a_python_error_not_a_panic(router):
    def payloads():
        yield diff("BTCUSDT", 11, "100.5")
        router.apply(diff("BTCUSDT", 12, "101.0"))  # re-enters while replay runs
        yield diff("BTCUSDT", 12, "101.0")

    with pytest.raises(RuntimeError):
        router.replay(payloads())
    assert router.book("BTCUSDT").last_update_id == 11
