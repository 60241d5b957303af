"""Malformed, truncated, huge and garbage payloads: always DecodeError (never a crash), counted,
and the book exactly as it was."""

from __future__ import annotations

import json
import random

import pytest

from conftest import SAMPLES, lines
from mmcore import ApplyStatus, BookRouter, DecodeError, OrderBook


def snapshot_of(book):
    return (
        book.bids(10**6).tolist(),
        book.asks(10**6).tolist(),
        book.last_update_id,
        book.state,
        book.scales,
    )


def synced_books():
    """One synced book per wire format, with the next valid payload for it."""
    binance_dir = SAMPLES / "binance" / "spot_cryptofeed_2021-10-12"
    spot = OrderBook("NKNUSDT", "binance-spot")
    spot.apply_snapshot((binance_dir / "rest_depth_NKNUSDT_limit1000.json").read_bytes())
    diffs = [
        line
        for line in lines(binance_dir / "stream.jsonl")
        if '"NKNUSDT"' in line and "depthUpdate" in line
    ]
    bybit = OrderBook("XRPUSDT", "bybit-linear")
    bybit_lines = lines(SAMPLES / "bybit" / "linear_XRPUSDT_orderbook500_2024-12-01.jsonl")
    bybit.apply(bybit_lines[0])
    okx_lines = [
        line
        for line in lines(SAMPLES / "okx" / "books_cryptofeed_2022-05-13" / "stream.jsonl")
        if '"BTC-USDT"' in line and '"books"' in line and '"action"' in line
    ]
    okx = OrderBook("BTC-USDT", "okx")
    okx.apply(okx_lines[0])
    spot_next = next(d for d in diffs if json.loads(d)["data"]["u"] > spot.last_update_id)
    return [(spot, spot_next), (bybit, bybit_lines[1]), (okx, okx_lines[1])]


@pytest.mark.parametrize("index", range(3))
def test_every_truncation_raises_and_leaves_the_book_untouched(index):
    book, payload = synced_books()[index]
    before = snapshot_of(book)
    malformed = book.malformed
    cuts = range(1, len(payload) - 1)
    for cut in cuts:
        with pytest.raises(DecodeError):
            book.apply(payload[:cut])
        assert snapshot_of(book) == before
    assert book.malformed == malformed + len(cuts)
    assert book.apply(payload) == ApplyStatus.APPLIED


@pytest.mark.parametrize("index", range(3))
def test_random_byte_corruption_never_escapes_as_anything_but_decode_error(index):
    book, payload = synced_books()[index]
    rng = random.Random(index)
    data = payload.encode()
    for _ in range(2000):
        mutated = bytearray(data)
        for _ in range(rng.randint(1, 4)):
            mutated[rng.randrange(len(mutated))] = rng.randrange(256)
        before = snapshot_of(book)
        try:
            status = book.apply(bytes(mutated))
        except DecodeError:
            assert snapshot_of(book) == before
            continue
        assert isinstance(status, ApplyStatus)


def test_a_bad_level_in_the_middle_changes_nothing():
    book, payload = synced_books()[0]
    before = snapshot_of(book)
    message = json.loads(payload)
    message["data"]["b"].insert(1, ["0.35x", "1"])
    with pytest.raises(DecodeError, match=r"b\[1\]\.price: not a decimal number"):
        book.apply(json.dumps(message))
    assert snapshot_of(book) == before


@pytest.mark.parametrize(
    ("payload", "match"),
    [
        (b"", "EOF"),
        (b"\xff\xfe garbage", "expected value"),
        (b"[" * 100_000, "expected a Binance market-data JSON object"),
        (b'{"e":"depthUpdate","x":' + b"[" * 100_000, "EOF while parsing a list"),
        (b'{"e":"depthUpdate","U":1,"u":2,"b":[["1","1"]],"a":[]}', "missing|s"),
        (b'{"e":"depthUpdate","s":"BTCUSDT","U":1,"b":[],"a":[]}', "missing field u"),
        (
            b'{"e":"depthUpdate","s":"BTCUSDT","U":1,"u":2,"b":[["1e5","1"]],"a":[]}',
            "b\\[0\\].price",
        ),
        (
            b'{"e":"depthUpdate","s":"BTCUSDT","U":1,"u":2,"b":[["-1","1"]],"a":[]}',
            "b\\[0\\].price",
        ),
        (
            b'{"e":"depthUpdate","s":"BTCUSDT","U":1,"u":2,"b":[["1","'
            + b"9" * 30
            + b'"]],"a":[]}',
            "b\\[0\\].size: does not fit",
        ),
        (b'{"e":"depthUpdate","s":"BTCUSDT","U":"x","u":2,"b":[],"a":[]}', "field U"),
        (
            b'{"e":"depthUpdate","s":"BTCUSDT","U":1,"u":2,"b":[["1"]],"a":[]}',
            "b\\[0\\]: size: missing",
        ),
        (b'{"e":"depthUpdate","s":"BTCUSDT","U":1,"u":2,"b":{},"a":[]}', "field b"),
        (b'{"e":"trade","s":"BTCUSDT","p":"1","q":"1"}', "missing field m"),
        (b'{"lastUpdateId":1,"bids":[],"asks":[]} trailing', "trailing"),
    ],
)
def test_garbage_is_refused_with_a_message_naming_the_problem(payload, match):
    book = OrderBook("BTCUSDT", "binance-spot")
    with pytest.raises(DecodeError, match=match):
        book.apply(payload)
    assert book.malformed == 1


def test_huge_valid_payload_is_handled():
    levels = [[f"{100 + i / 100:.2f}", "1.0"] for i in range(200_000)]
    body = json.dumps({"lastUpdateId": 5, "bids": levels, "asks": []})
    book = OrderBook("BTCUSDT", "binance-spot")
    assert book.apply_snapshot(body) == ApplyStatus.APPLIED
    assert book.depth == (200_000, 0)


def test_decode_error_is_a_value_error_and_router_counts_it():
    router = BookRouter("bybit-spot", ["BTCUSDT"])
    with pytest.raises(ValueError):
        router.apply(b'{"topic":"orderbook.50.BTCUSDT","type":"delta","data":{"u":"x"}}')
    assert router.malformed == 1
    with pytest.raises(TypeError, match="bytes or str"):
        router.apply(42)


def test_futures_diff_without_pu_is_refused():
    book = OrderBook("BTCUSDT", "binance-usdm")
    book.apply_snapshot(b'{"lastUpdateId":10,"bids":[["1","1"]],"asks":[["2","1"]]}')
    with pytest.raises(DecodeError, match="pu"):
        book.apply(b'{"e":"depthUpdate","s":"BTCUSDT","U":9,"u":11,"b":[],"a":[]}')


def test_tick_and_lot_grids_are_enforced_and_named():
    book = OrderBook("BTCUSDT", "binance-spot", tick_size="0.5", lot_size=0.001)
    assert book.scales == (1, 3)
    book.apply_snapshot(b'{"lastUpdateId":10,"bids":[["100.5","1.000"]],"asks":[["101.0","2"]]}')
    with pytest.raises(
        DecodeError, match=r"bids\[0\]\.price: 100\.25 is not a multiple of tick_size 0\.5"
    ):
        book.apply(b'{"e":"depthUpdate","s":"BTCUSDT","U":11,"u":11,"b":[["100.25","1"]],"a":[]}')
    with pytest.raises(DecodeError, match=r"asks\[0\]\.size: 0\.0001"):
        book.apply(
            b'{"e":"depthUpdate","s":"BTCUSDT","U":11,"u":11,"b":[],"a":[["101.0","0.0001"]]}'
        )
    assert book.best_bid() == (100.5, 1.0)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"tick_size": "abc"}, "tick_size"),
        ({"tick_size": 0}, "tick_size"),
        ({"max_buffer": 0}, "max_buffer"),
        ({"vol_halflife": -1.0}, "vol_halflife"),
        ({"vpin_bucket_volume": 0.0}, "vpin_bucket_volume"),
    ],
)
def test_bad_options_are_refused_naming_the_field(kwargs, match):
    with pytest.raises(ValueError, match=match):
        OrderBook("BTCUSDT", "binance-spot", **kwargs)


def test_unknown_venue_lists_the_valid_ones():
    with pytest.raises(ValueError, match="binance-spot, binance-usdm"):
        OrderBook("BTCUSDT", "binanse")


def test_buffer_is_bounded_and_overflow_reported():
    book = OrderBook("BTCUSDT", "binance-spot", max_buffer=3)
    statuses = [
        book.apply(f'{{"e":"depthUpdate","s":"BTCUSDT","U":{i},"u":{i},"b":[],"a":[]}}')
        for i in range(1, 6)
    ]
    assert statuses == [ApplyStatus.BUFFERED] * 3 + [ApplyStatus.BUFFER_OVERFLOW] * 2
    assert book.buffered_len == 3 and book.counters()["buffer_overflows"] == 2
    # The oldest kept diff is U=3, so a snapshot at 1 is too old and one at 2 syncs.
    assert (
        book.apply_snapshot(b'{"lastUpdateId":1,"bids":[],"asks":[]}')
        == ApplyStatus.SNAPSHOT_TOO_OLD
    )
    assert book.apply_snapshot(b'{"lastUpdateId":2,"bids":[],"asks":[]}') == ApplyStatus.APPLIED
    assert book.last_update_id == 5


def test_huge_sizes_fall_back_to_significant_decimals_or_are_refused():
    book = OrderBook("SHIBUSDT", "binance-spot")
    # 1e11 written with 8 decimals is 1e19 units at that scale: too large, so the book keeps
    # the decimals that carry digits instead, and the value stays exact.
    body = b'{"lastUpdateId":1,"bids":[["0.00001234","100000000000.00000000"]],"asks":[]}'
    assert book.apply_snapshot(body) == ApplyStatus.APPLIED
    assert book.best_bid() == (0.00001234, 1e11)
    with pytest.raises(DecodeError, match=r"bids\[0\]\.size: 99999999999999999 does not fit"):
        book.apply(
            b'{"e":"depthUpdate","s":"SHIBUSDT","U":2,"u":2,'
            b'"b":[["0.00001234","99999999999999999"]],"a":[]}'
        )
    assert book.best_bid() == (0.00001234, 1e11)
