"""Binance COIN-M: the dapi endpoints, whole-contract sizes and aggTrade prints end to end."""

from __future__ import annotations

from tests.feeds import conftest as feeds

from mmcore.feeds.trades import parse_trades

COINM = feeds.CASES["binance-coinm"]


async def test_coinm_books_are_in_contracts_and_trades_are_agg_trades() -> None:
    prints: list[tuple[str, float]] = []

    def on_trade(symbol: str, frame: bytes | str, now_ns: int) -> None:
        prints.extend((symbol, p.qty) for p in parse_trades("binance-coinm", frame))

    async with COINM.fake() as fake:
        config = feeds.feed_config(COINM, fake, snapshot_limit=1000)
        async with feeds.running_feed(config) as feed:
            feed.on_trade = on_trade
            assert await feed.wait_synced(feeds.SYNC_TIMEOUT)
            await feeds.assert_matches_true_book(feed, fake, COINM.symbols)
            for sym in COINM.symbols:
                book = feed.book(sym)
                assert book is not None
                sizes = [*book.bids(1000)[:, 1], *book.asks(1000)[:, 1]]
                assert sizes and all(s == int(s) for s in sizes), "sizes are whole contracts"
            await feeds.eventually(lambda: {s for s, _ in prints} == set(COINM.symbols), "trades")
            assert all(q == int(q) and q > 0 for _, q in prints)
    depth = [hit for hit in fake.rest_log if hit.status == 200]
    assert {hit.path for hit in depth} == {"/dapi/v1/depth"}
    assert {hit.query["symbol"] for hit in depth} == set(COINM.symbols)
    assert all(hit.weight == 20 for hit in depth)  # limit 1000 weighs 20 on dapi
