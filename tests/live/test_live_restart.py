"""Start-up reconciliation on the fake Binance USD-M venue: orders the engine did not place
are cancelled or adopted per ``foreign_orders``, the venue's position is loaded, orders of a
previous run are taken down by the engine's restore, and the dead-man switch is armed."""

from __future__ import annotations

import time
from decimal import Decimal

import pytest

from mmcore.execution import Order, OrderStatus, Side
from mmcore.journal import JournalState
from mmcore.testing.fake_venue import FakeBinanceUsdm

from .conftest import SYMBOL, live_on


def usdm() -> FakeBinanceUsdm:
    """A USD-M account that traded before this start: a long position, a foreign order and
    one of the engine's own orders from a previous run."""
    fake = FakeBinanceUsdm()
    fake.seed_balance("USDT", "100000")
    fake.set_quote(SYMBOL, "100000", "100000.1")
    fake.seed_position(SYMBOL, "0.05", "99500")
    fake.seed_open_order(SYMBOL, "sell", "0.01", "101000", client_id="someone-else-1")
    fake.seed_open_order(SYMBOL, "buy", "0.01", "99000", client_id="mm-BTCUSDT-7")
    return fake


@pytest.mark.parametrize("policy", ["cancel", "adopt"])
async def test_restart_with_foreign_orders_and_a_position(policy: str) -> None:
    async with live_on(usdm(), market_type="swap", foreign_orders=policy) as live:
        report = live.report
        assert report.positions[SYMBOL] == (pytest.approx(0.05), pytest.approx(99500.0))
        assert live.engine.portfolio.position(SYMBOL).qty == pytest.approx(0.05)
        assert report.own_open[SYMBOL] == {"mm-BTCUSDT-7"}
        foreign = live.fake.order("someone-else-1")
        if policy == "cancel":
            assert report.cancelled == ["someone-else-1"] and not foreign.is_open
        else:
            assert report.adopted == ["someone-else-1"] and foreign.is_open
            live.fake.fill("someone-else-1", "0.004")  # an adopted order's fill counts
            await live.until(lambda: live.engine.fills == 1)
            assert live.engine.portfolio.position(SYMBOL).qty == pytest.approx(0.046)
        # the engine's restore: its own order of the previous run is known open, then cancelled
        previous = Order("mm-BTCUSDT-7", SYMBOL, Side.BUY, 990_000, 0.01, 0.0, 0.0,
                         status=OrderStatus.ACKED)  # fmt: skip
        state = JournalState([], [previous], fill_count=0, last_client_seq=7)
        assert live.engine.restore(state, time.monotonic()) == []  # nothing lost
        await live.until(lambda: not live.fake.order("mm-BTCUSDT-7").is_open)
        assert live.engine.orders.next_client_id() == "mm-BTCUSDT-8"  # never reused


async def test_deadman_countdown_is_armed_refreshed_and_disarmed() -> None:
    async with live_on(usdm(), market_type="swap", deadman_s=0.6) as live:
        path = "/fapi/v1/countdownCancelAll"
        assert live.count("POST", path) == 1
        await live.until(lambda: live.count("POST", path) >= 3, timeout_s=3)
        assert all(r.params["countdownTime"] == "600" for r in live.fake.requests if r.path == path)
        fake = live.fake
    disarm = [r for r in fake.requests if r.path == path][-1]
    assert disarm.params["countdownTime"] == "0"


async def test_deadman_fires_when_refreshes_stop() -> None:
    async with live_on(usdm(), market_type="swap", deadman_s=0.3) as live:
        cid = live.place(+1, 99_000.0, 0.002)
        await live.until(lambda: live.engine.orders.order(cid).status is OrderStatus.ACKED)
        live.session.deadman.stop()  # as if mmcore hung: no refresh
        await live.until(lambda: not live.fake.order(cid).is_open, timeout_s=3)
        assert live.fake.countdown_fired
        await live.until(lambda: live.engine.orders.order(cid) is None)
        assert Decimal(repr(live.engine.portfolio.position(SYMBOL).qty)) == Decimal("0.05")


async def test_fills_before_the_start_are_in_the_loaded_position_not_added_again() -> None:
    """A position the account built by fills before this start (by hand or an earlier run):
    the venue's position is loaded, and those fills, which the start-up reconciliation sees
    in the trade history, are not counted on top of it."""
    fake = FakeBinanceUsdm()
    fake.seed_balance("USDT", "100000")
    fake.set_quote(SYMBOL, "100000", "100000.1")
    fake.seed_open_order(SYMBOL, "buy", "0.03", "99000", client_id="by-hand-1")
    fake.fill("by-hand-1", "0.03")
    async with live_on(fake, market_type="swap") as live:
        await live.settle(0.2)
        assert live.report.positions[SYMBOL][0] == pytest.approx(0.03)
        assert live.engine.fills == 0
        assert live.engine.portfolio.position(SYMBOL).qty == pytest.approx(0.03)
        live.fake.seed_open_order(SYMBOL, "sell", "0.01", "101000", client_id="by-hand-2")
        live.fake.fill("by-hand-2", "0.01")  # after the start: counted once
        await live.until(lambda: live.engine.fills == 1)
        assert live.engine.portfolio.position(SYMBOL).qty == pytest.approx(0.02)
