"""The operator's flatten (``mmcore.control.flatten``) at a live venue: the fake Binance USD-M
account holds a position the engine loads at start; the flatten takes the engine's quotes
down and sells the position off with marketable-limit orders priced inside the configured
slippage bound; the test fills them by hand (the fake does no matching) until the position is
zero and the symbol stays HALTED."""

from __future__ import annotations

import json
import time
from decimal import Decimal
from typing import Any

from mmcore import control
from mmcore.risk import TradingState
from mmcore.testing.fake_venue import FakeBinanceUsdm

from .conftest import SYMBOL, Live, live_on

BID, ASK = Decimal("100000.0"), Decimal("100000.5")
MAX_BPS = 5.0  # [risk] flatten_max_bps: how far through the touch a flatten order may go
MAX_QTY = 0.02  # [risk] flatten_max_qty: so the 0.05 position takes several orders


def long_account() -> FakeBinanceUsdm:
    """A USD-M account that holds 0.05 BTC long from before the engine started."""
    fake = FakeBinanceUsdm()
    fake.seed_balance("USDT", "100000")
    fake.set_quote(SYMBOL, str(BID), str(ASK))
    fake.seed_position(SYMBOL, "0.05", "99500")
    return fake


def show_book(live: Live) -> None:
    """The engine's book: a few levels around ``BID``/``ASK`` (a fresh book, so the engine
    acts on it as on one from a safe feed)."""
    levels = 5
    snapshot = {
        "lastUpdateId": 1,
        "bids": [[str(BID - Decimal("0.5") * i), "1.0"] for i in range(levels)],
        "asks": [[str(ASK + Decimal("0.5") * i), "1.0"] for i in range(levels)],
    }
    live.engine.book.apply_snapshot(json.dumps(snapshot))
    live.engine.quote(time.monotonic())


async def test_flatten_sells_the_loaded_position_to_zero_inside_its_slippage_bound() -> None:
    risk = dict(flatten_max_qty=MAX_QTY, flatten_max_bps=MAX_BPS, max_position=1.0)
    async with live_on(long_account(), market_type="swap", risk=risk) as live:
        fake, engine = live.fake, live.engine
        assert engine.portfolio.position(SYMBOL).qty == 0.05  # loaded from the venue
        show_book(live)
        await live.until(lambda: any(o.is_open for o in fake.ledger.open_orders(SYMBOL)))
        quotes = {o.client_id for o in fake.ledger.orders.values() if o.symbol == SYMBOL}
        assert engine.risk.state is TradingState.ACTIVE and quotes  # it was quoting

        desk: Any = type("Desk", (), {"engines": {SYMBOL: engine}})()
        assert control.flatten(desk) == {SYMBOL: "reducing"}
        floor = BID * (1 - Decimal(MAX_BPS) / 10_000)  # the lowest price the bound allows
        filled: list[Decimal] = []
        for _ in range(10):
            if engine.risk.state is TradingState.HALTED:
                break
            await live.until(
                lambda: any(o.client_id not in quotes for o in fake.ledger.open_orders(SYMBOL))
            )
            (order,) = [o for o in fake.ledger.open_orders(SYMBOL) if o.client_id not in quotes]
            quotes.add(order.client_id)
            assert order.side == "sell" and not order.post_only
            assert floor <= order.price <= BID, f"{order.price} outside [{floor}, {BID}]"
            assert order.qty <= Decimal(str(MAX_QTY))
            fake.fill(order.client_id, order.qty, maker=False)
            filled.append(order.qty)
            await live.until(lambda: not engine.orders.orders)  # the fill reached the engine
            show_book(live)  # the next book update sends the next flatten order
        assert engine.risk.state is TradingState.HALTED
        assert "operator" in engine.risk.reasons
        assert engine.portfolio.position(SYMBOL).qty == 0.0
        assert sum(filled) == Decimal("0.05") and len(filled) == 3  # 0.02 + 0.02 + 0.01
        assert fake.ledger.position(SYMBOL).qty == 0  # flat at the venue too
        # every order ever sent: the quotes (post-only, cancelled) and the flatten orders
        for o in fake.ledger.orders.values():
            if not o.post_only:
                assert floor <= o.price <= BID and o.side == "sell"
        assert not fake.ledger.open_orders(SYMBOL)
        show_book(live)  # halted: nothing more is sent
        await live.settle(0.1)
        assert not fake.ledger.open_orders(SYMBOL)
