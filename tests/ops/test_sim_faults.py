"""The simulated market's fault injection from the soak's side: faults sent to the market's
child process reach the feeds; a late pump publishes its gap in bounded slices."""

from __future__ import annotations

import asyncio

import pytest

from mmcore.demo import DEMO_LISTINGS, feeds_for
from mmcore.sim import SimMarket, SimMarketProcess


async def _until(check, timeout: float = 30.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not check():
        assert asyncio.get_running_loop().time() < deadline
        await asyncio.sleep(0.02)


async def test_faults_injected_in_the_child_reach_the_feed():
    async with SimMarketProcess(list(DEMO_LISTINGS), seed=3, speed=5) as market:
        feed = next(f for f in feeds_for(market) if f.config.venue == "binance-spot")
        task = asyncio.create_task(feed.run())
        try:
            await _until(lambda: feed.safe_to_quote("BTCUSDT"))
            market.inject("binance-spot", "drop_next", "BTCUSDT", 3)
            await _until(lambda: feed.metrics.gaps > 0)  # the dropped updates left a gap
            await _until(lambda: feed.safe_to_quote("BTCUSDT"))
            market.inject("binance-spot", "kill_connections")
            await _until(lambda: feed.metrics.reconnects > 0)
            await _until(lambda: feed.safe_to_quote("BTCUSDT"))
            market.inject("binance-spot", "kill_connections", "unexpected argument")
            market.inject("binance-spot", "send_malformed", 2)  # the market survived that
            await _until(lambda: feed.metrics.malformed >= 2)
        finally:
            feed.stop()
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
        with pytest.raises(ValueError, match="fault must be one of"):
            market.inject("binance-spot", "format_disk")
        with pytest.raises(ValueError, match="venue must be one of"):
            market.inject("nowhere", "kill_connections")


async def test_a_late_pump_publishes_its_gap_in_bounded_slices():
    market = SimMarket(list(DEMO_LISTINGS), seed=1, speed=20)
    steps: list[float] = []
    market.step = lambda s: steps.append(s) or 0  # type: ignore[method-assign]
    await market._catch_up(30.0)  # the pump woke 1.5 s late at 20x
    assert max(steps) <= 0.05 * 20 + 1e-9 and sum(steps) == pytest.approx(30.0)
