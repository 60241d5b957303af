"""Features that survive the venue's decimals and its in-band snapshot channels (issue 20 B5),
and decode errors callers can match on by kind (B7), through the public `OrderBook` API."""

from __future__ import annotations

import json
import math

import pytest

from conftest import SAMPLES, lines
from mmcore import DECODE_ERROR_KINDS, ApplyStatus, BookState, DecodeError, OrderBook


def binance_snapshot(bids, asks, lid=10):
    return json.dumps({"lastUpdateId": lid, "bids": bids, "asks": asks})


def binance_diff(u, bids=(), asks=(), symbol="X"):
    return json.dumps(
        {"e": "depthUpdate", "E": 1000 + u, "s": symbol, "U": u, "u": u, "b": bids, "a": asks}
    )


def test_a_diff_that_raises_the_price_scale_is_not_a_price_move():
    book = OrderBook("X", "binance-spot", vol_halflife=1.0)
    book.apply_snapshot(binance_snapshot([["100.0", "3"]], [["100.2", "1"]]))
    assert book.apply(binance_diff(11, bids=[["100.0", "4"]])) == ApplyStatus.APPLIED
    # A price with two decimals: the book's price scale goes 1 -> 2, the mid 100.1 -> 100.075.
    assert book.apply(binance_diff(12, asks=[["100.15", "1"]])) == ApplyStatus.APPLIED
    assert book.scales[0] == 2
    f = book.features()
    r = math.log(100.075 / 100.1)
    # Half-life one update: alpha 0.5 over returns 0 then r.
    assert f.volatility_bps == pytest.approx(math.sqrt(0.5 * r * r) * 1e4)
    assert f.volatility_bps < 300.0, "a scale change must not trip a 300 bps breaker"


def test_a_diff_that_raises_the_size_scale_keeps_ofi_in_units():
    book = OrderBook("X", "binance-spot")
    book.apply_snapshot(binance_snapshot([["100", "3"]], [["101", "1"]]))
    book.apply(binance_diff(11, bids=[["100", "4"]]))
    # Size 4 -> 4.5 at the same bid: OFI +0.5, whatever the size scale became.
    assert book.apply(binance_diff(12, bids=[["100", "4.5"]])) == ApplyStatus.APPLIED
    assert book.scales[1] == 1
    assert book.features().ofi == pytest.approx(0.5)


def bybit_top(u, bid, ask, ts=1):
    return json.dumps(
        {
            "topic": "orderbook.1.BTCUSDT",
            "ts": ts,
            "type": "snapshot",
            "data": {"s": "BTCUSDT", "b": [bid], "a": [ask], "u": u, "seq": u},
        }
    )


def test_bybit_orderbook1_snapshots_carry_ofi_and_volatility():
    book = OrderBook("BTCUSDT", "bybit-spot", vol_halflife=1.0)
    assert book.apply(bybit_top(1000, ["100.0", "2"], ["100.2", "1"])) == ApplyStatus.APPLIED
    assert book.apply(bybit_top(1001, ["100.0", "5"], ["100.2", "1"])) == ApplyStatus.APPLIED
    assert book.features().ofi == pytest.approx(3.0)
    assert book.apply(bybit_top(1002, ["100.1", "1"], ["100.2", "1"])) == ApplyStatus.APPLIED
    f = book.features()
    assert f.ofi == pytest.approx(1.0), "the bid improved: +new bid size"
    r = math.log(100.15 / 100.1)
    assert f.volatility_bps == pytest.approx(math.sqrt(0.5 * r * r) * 1e4)


def test_real_bybit_orderbook1_capture_gives_finite_volatility():
    book = OrderBook("BTCUSDT", "bybit-spot")
    for line in lines(SAMPLES / "bybit" / "spot_BTCUSDT_orderbook1_2026-08-13_ccxt.jsonl"):
        book.apply(line)
    f = book.features()
    assert book.counters()["snapshots"] == 2
    assert math.isfinite(f.volatility_bps) and f.volatility_bps < 50.0
    assert math.isfinite(f.ofi)


def okx_books5(seq, bid, ask, channel="books5"):
    return json.dumps(
        {
            "arg": {"channel": channel, "instId": "BTC-USDT"},
            "data": [{"asks": [ask], "bids": [bid], "instId": "BTC-USDT", "ts": "1", "seqId": seq}],
        }
    )


@pytest.mark.parametrize("channel", ["books5", "bbo-tbt"])
def test_okx_snapshot_channels_carry_ofi_and_volatility(channel):
    book = OrderBook("BTC-USDT", "okx", vol_halflife=1.0)
    book.apply(okx_books5(1, ["100.0", "2", "0", "1"], ["100.2", "1", "0", "1"], channel))
    book.apply(okx_books5(2, ["100.0", "2", "0", "1"], ["100.1", "4", "0", "1"], channel))
    f = book.features()
    assert f.ofi == pytest.approx(-4.0), "the ask improved: -new ask size"
    assert math.isfinite(f.volatility_bps) and f.volatility_bps > 0.0


def test_binance_partial_depth_carries_ofi_but_a_resync_resets_it():
    book = OrderBook("BTCUSDT", "binance-spot")

    def depth5(lid, bid_qty):
        return json.dumps(
            {
                "stream": "btcusdt@depth5@100ms",
                "data": {"lastUpdateId": lid, "bids": [["100", bid_qty]], "asks": [["101", "1"]]},
            }
        )

    book.apply(depth5(10, "1"))
    book.apply(depth5(11, "3"))
    assert book.features().ofi == pytest.approx(2.0)
    # A REST snapshot is a resync: the next update does not continue the old touch.
    book.apply_snapshot(binance_snapshot([["100", "9"]], [["101", "1"]], lid=12))
    assert book.features().ofi == 0.0
    assert (
        book.apply(binance_diff(13, bids=[["100", "10"]], symbol="BTCUSDT")) == ApplyStatus.APPLIED
    )
    assert book.features().ofi == pytest.approx(1.0)


def futures_depth(stream, u, bids, asks):
    return json.dumps(
        {
            "stream": stream,
            "data": {
                "e": "depthUpdate",
                "E": 1,
                "T": 1,
                "s": "BTCUSDT",
                "U": u - 3,
                "u": u,
                "pu": u - 4,
                "b": bids,
                "a": asks,
            },
        }
    )


def test_binance_futures_depthN_is_a_snapshot_by_stream_name():
    book = OrderBook("BTCUSDT", "binance-usdm")
    first = futures_depth("btcusdt@depth5@100ms", 100, [["100", "1"], ["99", "2"]], [["101", "1"]])
    assert book.apply(first) == ApplyStatus.APPLIED
    assert book.state == BookState.SYNCED
    # The next top-5 replaces the book: level 99 is gone without an explicit zero.
    second = futures_depth("btcusdt@depth5@100ms", 120, [["100", "4"]], [["101", "2"]])
    assert book.apply(second) == ApplyStatus.APPLIED
    assert book.bids(10).tolist() == [[100.0, 4.0]]
    assert book.last_update_id == 120
    assert book.features().ofi == pytest.approx(3.0 - 1.0)


def test_binance_futures_diff_stream_is_still_a_diff():
    book = OrderBook("BTCUSDT", "binance-usdm")
    diff = futures_depth("btcusdt@depth@100ms", 100, [["100", "1"]], [])
    assert book.apply(diff) == ApplyStatus.BUFFERED


@pytest.mark.parametrize("side", ["bids", "asks"])
def test_duplicate_prices_in_a_snapshot_are_refused_naming_the_field(side):
    book = OrderBook("X", "binance-spot")
    book.apply_snapshot(binance_snapshot([["99", "1"]], [["102", "1"]]))
    levels = {"bids": [["100", "1"], ["99", "2"]], "asks": [["101", "1"], ["103", "2"]]}
    levels[side].append([levels[side][0][0] + ".0", "5"])
    with pytest.raises(DecodeError) as raised:
        book.apply_snapshot(binance_snapshot(levels["bids"], levels["asks"], lid=20))
    assert raised.value.kind == "duplicate_price"
    assert f"field {side}[2].price" in str(raised.value)
    assert book.last_update_id == 10 and book.bids(5).tolist() == [[99.0, 1.0]]


@pytest.mark.parametrize(
    ("venue", "payload", "kind"),
    [
        ("binance-spot", b"{bad", "bad_json"),
        ("binance-spot", binance_diff(11, bids=[["1x", "1"]]), "not_a_number"),
        ("binance-spot", binance_diff(11, bids=[["1", "99999999999999999999999"]]), "too_large"),
        ("binance-spot", binance_diff(11, bids=[[1, "1"]]), "bad_type"),
        ("binance-spot", '{"e":"depthUpdate","s":"X","u":5,"b":[],"a":[]}', "missing_field"),
        ("binance-usdm", binance_diff(11), "missing_field"),
        ("bybit-spot", '{"topic":"orderbook.1.X","type":"odd","data":{"u":2}}', "bad_value"),
    ],
)
def test_decode_errors_have_a_kind(venue, payload, kind):
    book = OrderBook("X", venue)
    book.apply_snapshot(binance_snapshot([["1", "1"]], [["2", "1"]])) if venue.startswith(
        "binance"
    ) else None
    with pytest.raises(DecodeError) as raised:
        book.apply(payload)
    assert raised.value.kind == kind, str(raised.value)
    assert kind in DECODE_ERROR_KINDS


def test_off_grid_and_not_a_snapshot_kinds():
    book = OrderBook("X", "binance-spot", tick_size="0.5")
    with pytest.raises(DecodeError) as raised:
        book.apply_snapshot(binance_snapshot([["100.2", "1"]], [["101", "1"]]))
    assert raised.value.kind == "off_grid"
    with pytest.raises(DecodeError) as raised:
        book.apply_snapshot(binance_diff(1))
    assert raised.value.kind == "not_a_snapshot"


def test_fast_path_refuses_what_the_general_decoder_refuses():
    book = OrderBook("X", "binance-spot")
    book.apply_snapshot(binance_snapshot([["1", "1"]], [["2", "1"]]))
    bad = '{"e":"depthUpdate","E":1,"s":"X","U":11,"u":11,"b":[["1","2",1-2]],"a":[]}'
    with pytest.raises(DecodeError):
        book.apply(bad)
    assert book.last_update_id == 10
