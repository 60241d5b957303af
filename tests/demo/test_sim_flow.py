"""The simulated order flow: deterministic by seed, a consistent book, trades at the touch."""

from __future__ import annotations

import json

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


def _client_books() -> dict[str, OrderBook]:
    return {s.symbol: OrderBook(s.symbol, "binance-spot", tick_size=s.tick_size) for s in SPECS}


def test_a_long_run_never_shows_a_crossed_book():
    """Every book change applied to a client book, for 10 simulated minutes of both symbols
    (volatile regimes, jumps and informed episodes included): best bid < best ask after
    each one, and no trade prints through the book's own touch."""
    flow = OrderFlow(SPECS, 5)
    clients = _client_books()
    ids = dict.fromkeys(clients, 1)
    for sym, client in clients.items():
        book = flow.books[sym]
        body = {"lastUpdateId": 1, "bids": book.levels("bids"), "asks": book.levels("asks")}
        assert client.apply_snapshot(json.dumps(body)) == ApplyStatus.APPLIED
    changes = 0
    for _ in range(6000):
        for _t, sym, item in flow.advance_timed(0.1):
            if not isinstance(item, BookChange):
                continue
            ids[sym] += 1
            payload = {"e": "depthUpdate", "E": 1, "s": sym, "U": ids[sym], "u": ids[sym]}
            payload |= {"b": item.bids, "a": item.asks}
            assert clients[sym].apply(json.dumps(payload)) == ApplyStatus.APPLIED
            (bid, _), (ask, _) = clients[sym].best_bid(), clients[sym].best_ask()
            assert bid < ask, (sym, _t, bid, ask)
            changes += 1
    assert changes > 50_000
    assert len(flow.episodes) > 10


def test_flow_is_mostly_uninformed_and_episodes_are_stated():
    """Outside the recorded episodes takers buy and sell with equal odds; inside one most
    taker volume goes the episode's way; informed volume is a minority of all volume."""
    flow = OrderFlow(SPECS[:1], 3)
    prints: list[tuple[float, TradePrint]] = []
    for _ in range(3000):
        prints += [(t, x) for t, _s, x in flow.advance_timed(0.1) if isinstance(x, TradePrint)]
    episodes = flow.episodes
    assert episodes and all(e.end > e.start and e.direction in (-1, 1) for e in episodes)

    def episode_at(t: float):
        return next((e for e in episodes if e.start <= t < e.end), None)

    with_flow = against = buys = sells = 0.0
    for t, p in prints:
        size = float(p.size)
        episode = episode_at(t)
        if episode is None:
            buys += size * p.taker_buy
            sells += size * (not p.taker_buy)
        elif (episode.direction > 0) == p.taker_buy:
            with_flow += size
        else:
            against += size
    assert 0.45 < buys / (buys + sells) < 0.55
    assert with_flow / (with_flow + against) > 0.7
    assert (with_flow + against) / (with_flow + against + buys + sells) < 0.5
