"""The live venue on the fake Bybit v5 (spot and linear) through ccxt: the order lifecycle,
PostOnly accepted then cancelled, an unanswered create resolved by query, start-up positions,
and Disconnection Protection cancelling everything when the private connection is lost."""

from __future__ import annotations

import asyncio
from decimal import Decimal

import pytest

from mmcore.execution import OrderStatus
from mmcore.testing.fake_venue import FakeBybit

from .conftest import SYMBOL, Live, live_on


def bybit(category: str, **kw: object) -> FakeBybit:
    fake = FakeBybit(category=category, **kw)
    fake.seed_balance("USDT", "100000")
    fake.seed_balance("BTC", "1")
    fake.set_quote(SYMBOL, "100000", "100000.1")
    return fake


def kind(category: str) -> str:
    return "spot" if category == "spot" else "swap"


def position(live: Live) -> Decimal:
    return Decimal(repr(live.engine.portfolio.position(SYMBOL).qty))


def venue_fills(live: Live) -> Decimal:
    return sum((f.qty if f.side == "buy" else -f.qty for f in live.fake.ledger.fills), Decimal(0))


@pytest.mark.parametrize("category", ["spot", "linear"])
async def test_bybit_order_lifecycle_partial_fills_and_cancel(category: str) -> None:
    async with live_on(bybit(category), market_type=kind(category)) as live:
        cid = live.place(+1, 99_000.0, 0.003)
        await live.until(lambda: live.engine.orders.order(cid).status is OrderStatus.ACKED)
        live.fake.fill(cid, "0.001")
        await live.until(lambda: live.engine.fills == 1)
        live.engine.orders.cancel_all(0.0, "test")
        await live.until(lambda: live.engine.orders.order(cid) is None)
        assert not live.fake.order(cid).is_open
        assert position(live) == venue_fills(live) == Decimal("0.001")
        assert live.count("POST", "/v5/order/create") == 1


@pytest.mark.parametrize("category", ["spot", "linear"])
async def test_bybit_post_only_that_would_cross_is_taken_off_without_a_fill(category: str) -> None:
    async with live_on(bybit(category), market_type=kind(category)) as live:
        live.fake.reject_post_only(1)
        cid = live.place(+1, 99_000.0, 0.002)
        await live.until(lambda: live.engine.orders.order(cid) is None)
        assert live.engine.fills == 0 and position(live) == 0


async def test_bybit_unanswered_create_is_resolved_by_query_not_resent() -> None:
    async with live_on(bybit("linear"), market_type="swap", timeout_ms=400) as live:
        live.fake.hang_after_accept("/v5/order/create", "POST")
        cid = live.place(-1, 101_000.0, 0.002)
        await live.until(lambda: live.engine.orders.order(cid).status is OrderStatus.ACKED)
        assert live.count("POST", "/v5/order/create") == 1
        assert sum(1 for o in live.fake.ledger.orders.values() if o.client_id == cid) == 1


async def test_bybit_linear_position_is_loaded_at_start() -> None:
    fake = bybit("linear")
    fake.seed_position(SYMBOL, "-0.02", "100500")
    async with live_on(fake, market_type="swap") as live:
        assert live.report.positions[SYMBOL][0] == pytest.approx(-0.02)
        assert live.engine.portfolio.position(SYMBOL).qty == pytest.approx(-0.02)


async def test_bybit_disconnection_protection_cancels_when_the_connection_is_lost() -> None:
    fake = bybit("linear", dcp_second_s=0.05)
    async with live_on(fake, market_type="swap", deadman_s=3.0) as live:
        assert fake.dcp_window_s == 3
        cid = live.place(+1, 99_000.0, 0.002)
        await live.until(lambda: live.engine.orders.order(cid).status is OrderStatus.ACKED)
        await live.until(lambda: any("dcp" in c.topics for c in fake.streams))
        for conn in fake.streams:  # the connection is lost (no close handshake)
            conn.ws.transport.abort()
        live.session.deadman.stop()
        await live.until(lambda: not fake.order(cid).is_open, timeout_s=3)
        assert fake.dcp_fired
        await asyncio.sleep(0)
