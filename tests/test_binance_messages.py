"""Binance messages beyond diff depth: partial depth, bookTicker, aggTrade, COIN-M, control
events; one call each, the right status, the right effect."""

from __future__ import annotations

import json

import pytest

from mmcore import ApplyStatus, BookState, OrderBook


def partial(last_update_id: int, bids, asks, stream: str | None = "btcusdt@depth5@100ms"):
    body = {"lastUpdateId": last_update_id, "bids": bids, "asks": asks}
    return json.dumps({"stream": stream, "data": body} if stream else body)


def test_partial_depth_replaces_the_book_and_refuses_older_ids():
    book = OrderBook("BTCUSDT", "binance-spot")
    first = partial(100, [["10.0", "1"], ["9.9", "2"]], [["10.1", "3"]])
    assert book.apply(first) == ApplyStatus.APPLIED
    assert book.state == BookState.SYNCED and book.depth == (2, 1)
    assert book.apply(partial(101, [["10.05", "4"]], [["10.2", "5"]])) == ApplyStatus.APPLIED
    assert book.bids(5).tolist() == [[10.05, 4.0]] and book.asks(5).tolist() == [[10.2, 5.0]]
    assert book.apply(partial(99, [["1", "1"]], [["2", "1"]])) == ApplyStatus.STALE
    assert book.last_update_id == 101
    # On a raw /ws/ connection the payload names no symbol: it is taken as this book's.
    assert book.apply(partial(102, [["10.0", "1"]], [["10.1", "1"]], stream=None)) == (
        ApplyStatus.APPLIED
    )
    # Another symbol's stream is not this book's.
    other = partial(103, [["1", "1"]], [["2", "1"]], stream="ethusdt@depth5@100ms")
    assert book.apply(other) == ApplyStatus.IGNORED


def test_book_ticker_and_agg_trade():
    book = OrderBook("BNBUSDT", "binance-spot")
    ticker = {
        "u": 400900217,
        "s": "BNBUSDT",
        "b": "25.35190000",
        "B": "31.21000000",
        "a": "25.36520000",
        "A": "40.66000000",
    }
    assert book.apply(json.dumps(ticker)) == ApplyStatus.TICKER
    assert book.ticker() == (25.3519, 31.21, 25.3652, 40.66, 400900217)
    agg = {
        "e": "aggTrade",
        "E": 1,
        "s": "BNBUSDT",
        "a": 12345,
        "p": "25.36",
        "q": "2.5",
        "f": 100,
        "l": 105,
        "T": 7,
        "m": False,
        "M": True,
    }
    assert book.apply(json.dumps(agg)) == ApplyStatus.TRADE
    features = book.features()
    assert (features.buy_volume, features.sell_volume, features.trade_count) == (2.5, 0.0, 1.0)
    assert book.apply(b'{"e":"serverShutdown","E":1}') == ApplyStatus.IGNORED
    assert book.apply(b'{"result":null,"id":1}') == ApplyStatus.IGNORED


@pytest.mark.parametrize("venue", ["binance-usdm", "binance-coinm"])
def test_futures_venues_chain_on_pu(venue):
    book = OrderBook("BTCUSD_PERP", venue)
    snapshot = b'{"lastUpdateId":100,"E":1,"T":1,"bids":[["10","1"]],"asks":[["11","1"]]}'
    assert book.apply_snapshot(snapshot) == ApplyStatus.APPLIED

    def diff(first, last, prev, bid):
        return json.dumps(
            {
                "e": "depthUpdate",
                "E": 2,
                "T": 2,
                "s": "BTCUSD_PERP",
                "U": first,
                "u": last,
                "pu": prev,
                "b": [[bid, "1"]],
                "a": [],
            }
        )

    assert book.apply(diff(95, 105, 90, "10.1")) == ApplyStatus.APPLIED
    # Ids jump (they are shared across symbols); pu carries the chain.
    assert book.apply(diff(230, 240, 105, "10.2")) == ApplyStatus.APPLIED
    assert book.apply(diff(300, 310, 250, "10.3")) == ApplyStatus.GAP
    assert book.state == BookState.UNSYNCED
