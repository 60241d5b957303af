"""A spot symbol's position at start on the fake Binance spot venue: its base balance minus the
configured baseline, the fills made before the start (not the engine's) in it once, and the
fills after the start counted once on top."""

from __future__ import annotations

from decimal import Decimal

import pytest

from mmcore.execution.live.config import LiveConfig
from mmcore.execution.live.session import LiveSession
from mmcore.testing.fake_venue import FakeBinanceSpot, MarketSpec, ccxt_exchange

from .conftest import FAST, SYMBOL, live_on, spot


def traded_before() -> FakeBinanceSpot:
    """1 BTC of inventory, then 0.02 BTC bought by hand before this start (fee in BTC)."""
    fake = spot()
    fake.seed_open_order(SYMBOL, "buy", "0.02", "99000", client_id="by-hand-1")
    fake.fill("by-hand-1", "0.02")
    assert fake.ledger.balance("BTC").free == Decimal("1.01998")  # 0.00002 BTC fee
    return fake


async def test_spot_position_is_the_balance_minus_the_baseline_and_old_fills_count_once() -> None:
    cfg = dict(spot_baseline={"BTC": 1.0}, foreign_orders="adopt")
    async with live_on(traded_before(), **cfg) as live:
        await live.settle(0.2)
        qty, entry = live.report.positions[SYMBOL]
        assert qty == pytest.approx(0.01998)
        assert entry == pytest.approx(100_000.5)  # the venue's mid at start
        position = live.engine.portfolio.position(SYMBOL)
        assert live.engine.fills == 0  # the fill before the start is in the balance already
        assert position.qty == pytest.approx(0.01998)
        assert position.avg_cost == pytest.approx(100_000.5)
        live.fake.seed_open_order(SYMBOL, "sell", "0.01", "101000", client_id="by-hand-2")
        live.fake.fill("by-hand-2", "0.01")  # a fill after the start, not the engine's
        await live.until(lambda: live.engine.fills == 1)
        assert position.qty == pytest.approx(0.00998)


async def test_without_a_baseline_the_balance_at_start_is_flat_and_journalled() -> None:
    async with live_on(traded_before()) as live:
        await live.settle(0.2)
        assert SYMBOL not in live.report.positions
        assert live.engine.fills == 0
        assert live.engine.portfolio.position(SYMBOL).qty == 0.0
        assert live.count("GET", "/api/v3/ticker/24hr") == 0  # nothing to value


async def test_a_baseline_above_the_balance_is_a_short_inventory() -> None:
    async with live_on(spot(), spot_baseline={"BTC": 1.5}) as live:
        assert live.engine.portfolio.position(SYMBOL).qty == pytest.approx(-0.5)


async def test_a_baseline_of_an_asset_two_symbols_share_is_refused_naming_it() -> None:
    markets = [MarketSpec("BTCUSDT", "BTC", "USDT"), MarketSpec("BTCUSDC", "BTC", "USDC")]
    fake = FakeBinanceSpot(markets)
    fake.seed_balance("BTC", "1")
    async with fake:
        cfg = LiveConfig(**{**FAST, "spot_baseline": {"BTC": 0.5}})
        session = LiveSession(ccxt_exchange(fake), "fake", cfg)
        try:
            with pytest.raises(ValueError, match=r'spot_baseline\."BTC": .*BTCUSDT, BTCUSDC'):
                await session.start(["BTCUSDT", "BTCUSDC"])
        finally:
            await session.close()
