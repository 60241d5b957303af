"""Losing the market-data feed at a live venue (issue 13, item 6): when the engine's feed
becomes unsafe (``Engine.feed_unsafe``, as the trader calls it on a disconnect, a resync or a
stale book), every open order at the fake venue is cancelled, an order adopted at start
included, with one venue-wide cancel per loss; nothing is quoted again until a book from a
safe feed arrives."""

from __future__ import annotations

import time

from mmcore.risk import TradingState

from .conftest import SYMBOL, live_on, spot
from .test_live_flatten import show_book

CANCEL_ALL = ("DELETE", "/api/v3/openOrders")


async def test_feed_loss_cancels_every_open_order_at_the_venue() -> None:
    fake = spot()
    fake.seed_open_order(SYMBOL, "sell", "0.001", "150000", client_id="someone-else")
    async with live_on(fake, foreign_orders="adopt") as live:
        assert live.report.adopted == ["someone-else"]  # left working, fills count
        # before the first safe book (the trader's start-up): nothing is taken down
        live.engine.feed_unsafe(time.monotonic())
        await live.settle(0.1)
        assert live.count(*CANCEL_ALL) == 0 and fake.order("someone-else").is_open

        show_book(live)  # quoting on a fresh book
        await live.until(lambda: len(fake.ledger.open_orders(SYMBOL)) >= 3)
        mine = [o.client_id for o in fake.ledger.open_orders(SYMBOL) if o.client_id[:2] == "mm"]
        assert mine and live.engine.risk.state is TradingState.ACTIVE
        sent = len(fake.ledger.orders)

        for _ in range(5):  # the trader calls it on every update while the feed is unsafe
            live.engine.feed_unsafe(time.monotonic())
        await live.until(lambda: not fake.ledger.open_orders(SYMBOL))
        assert all(fake.order(cid).status == "canceled" for cid in mine)
        assert fake.order("someone-else").status == "canceled"
        assert live.engine.risk.state is TradingState.HALTED
        assert live.count(*CANCEL_ALL) == 1  # one venue-wide cancel per loss

        for _ in range(5):  # the timer goes on, the feed is still unsafe: nothing is sent
            live.engine.on_timer(time.monotonic())
            await live.settle(0.05)
        assert len(fake.ledger.orders) == sent and not fake.ledger.open_orders(SYMBOL)

        show_book(live)  # the feed is back: quoting resumes
        await live.until(lambda: bool(fake.ledger.open_orders(SYMBOL)))
        live.engine.feed_unsafe(time.monotonic())  # and is lost again
        await live.until(lambda: not fake.ledger.open_orders(SYMBOL))
        assert live.count(*CANCEL_ALL) == 2
