"""Amends on live venues that support them (Binance USD-M modify, Bybit v5 amend): an order
reduced in place keeps its price and venue order id; Binance spot does not amend."""

from __future__ import annotations

import time
from decimal import Decimal

import pytest

from mmcore.execution import AmendRejected, OrderStatus
from mmcore.testing.fake_venue import FakeBinanceUsdm, FakeBybit

from .conftest import SYMBOL, live_on, spot


def usdm() -> FakeBinanceUsdm:
    fake = FakeBinanceUsdm()
    fake.seed_balance("USDT", "100000")
    fake.set_quote(SYMBOL, "100000", "100000.1")
    return fake


def bybit_linear() -> FakeBybit:
    fake = FakeBybit(category="linear")
    fake.seed_balance("USDT", "100000")
    fake.set_quote(SYMBOL, "100000", "100000.1")
    return fake


@pytest.mark.parametrize("make", [usdm, bybit_linear], ids=["binance-usdm", "bybit-linear"])
async def test_an_order_is_reduced_in_place(make) -> None:
    async with live_on(make(), market_type="swap") as live:
        assert live.venue.supports_amend
        cid = live.place(+1, 99_000.0, 0.005)
        await live.until(lambda: live.engine.orders.order(cid).status is OrderStatus.ACKED)
        venue_id = live.fake.order(cid).order_id
        ticks = round(99_000.0 / float(live.venue.rules.tick))
        lots = round(0.002 / float(live.venue.rules.lot))
        placed = live.engine.orders.reconcile([(ticks, lots)], [], ticks, time.monotonic())
        assert placed == [] and live.engine.orders.amends == 1  # the desk amends, not replaces
        await live.until(lambda: live.engine.orders.order(cid).qty == pytest.approx(0.002))
        order = live.fake.order(cid)
        assert order.qty == Decimal("0.002") and order.is_open
        assert order.order_id == venue_id and order.price == Decimal("99000")
        live.fake.fill(cid, "0.002")
        await live.until(lambda: live.engine.orders.order(cid) is None)  # filled in full
        assert live.engine.portfolio.position(SYMBOL).qty == pytest.approx(0.002)


async def test_binance_spot_does_not_amend() -> None:
    async with live_on(spot()) as live:
        assert not live.venue.supports_amend
        cid = live.place(+1, 99_000.0, 0.002)
        await live.until(lambda: live.engine.orders.order(cid).status is OrderStatus.ACKED)
        live.venue.amend(cid, 0.001, time.monotonic())
        events = live.venue.poll(time.monotonic())
        assert [type(e) for e in events] == [AmendRejected]
