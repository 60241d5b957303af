"""The simulated order flow: deterministic by seed, a consistent book, trades at the touch."""

from __future__ import annotations

import pytest

from mmcore import ApplyStatus, OrderBook
from mmcore.sim import OrderFlow, SymbolSpec
from mmcore.sim.wire.flow import BookChange, TradePrint

SPECS = [SymbolSpec("BTCUSDT", 60_000.0, tick_decimals=0), SymbolSpec("ETHUSDT", 3_000.0, 1)]


def _run(seed: int, seconds: float = 30.0) -> list:
    flow = OrderFlow(SPECS, seed)
    return [e for _ in range(int(seconds * 10)) for e in flow.advance(0.1)]


def test_same_seed_same_flow_other_seed_other_flow():
    assert _run(7) == _run(7)
    assert _run(7) != _run(8)


def test_book_stays_uncrossed_prints_trades_and_a_client_book_matches():
    flow = OrderFlow(SPECS, 11)
    book = flow.books["ETHUSDT"]
    client = OrderBook("ETHUSDT", "bybit-spot", tick_size=0.1)
    trades = 0
    for _ in range(300):
        for symbol, item in flow.advance(0.1):
            if symbol != "ETHUSDT":
                continue
            if isinstance(item, TradePrint):
                trades += 1
                assert float(item.price) > 0 and float(item.size) > 0
            else:
                assert isinstance(item, BookChange)
        assert book.best_bid() < book.best_ask()
    assert trades > 50
    # the client book built from a snapshot of the true book equals it
    snapshot = (
        '{"topic":"orderbook.50.ETHUSDT","type":"snapshot","ts":1,"data":{"s":"ETHUSDT",'
        f'"b":{_levels(book.levels("bids"))},"a":{_levels(book.levels("asks"))},'
        '"u":1,"seq":1},"cts":1}'
    )
    assert client.apply(snapshot) == ApplyStatus.APPLIED
    assert client.best_bid()[0] == pytest.approx(book.best_bid() / 10)
    assert client.best_ask()[0] == pytest.approx(book.best_ask() / 10)
    assert flow.regime("ETHUSDT").split("+")[0] in ("calm", "volatile")


def _levels(levels: list[tuple[str, str]]) -> str:
    return "[" + ",".join(f'["{p}","{q}"]' for p, q in levels) + "]"


def test_bad_specs_are_refused_with_the_reason():
    with pytest.raises(ValueError, match="alphanumeric"):
        SymbolSpec("BTC/USDT", 1.0)
    with pytest.raises(ValueError, match="market_share"):
        SymbolSpec("BTCUSDT", 1.0, market_share=0.6, cancel_share=0.5)
    with pytest.raises(ValueError, match="unique"):
        OrderFlow([SPECS[0], SPECS[0]])
