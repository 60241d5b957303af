"""The dashboard renders a live run to text: books, quotes, risk, feed health, advisors."""

from __future__ import annotations

import asyncio
import time

from mmcore.advisors.factory import build_advisor_service
from mmcore.demo import DEMO_LISTINGS, demo_setups, feeds_for
from mmcore.llm.config import load_llm_config
from mmcore.sim import SimMarket
from mmcore.trader import Trader
from mmcore.ui.dashboard import Dashboard
from mmcore.ui.recorder import Recorder


async def test_dashboard_renders_a_running_trader_to_text():
    runtime = await build_advisor_service(load_llm_config(None, {}))
    async with SimMarket(list(DEMO_LISTINGS), seed=3, speed=10) as market:
        feeds = feeds_for(market)
        trader = Trader(feeds, demo_setups(), advisors=runtime.service, timer_s=0.05)
        recorder = Recorder(trader)
        trader.on_sample = recorder.sample
        dashboard = Dashboard(trader, recorder, runtime, title="test run")
        before = dashboard.render_text()
        task = asyncio.create_task(trader.run())
        # until both symbols are sampled synced and the advisors have spoken for each
        deadline = asyncio.get_running_loop().time() + 30.0
        while not (
            all(
                sym in recorder.latest and recorder.latest[sym].feed_state == "synced"
                for sym in trader.engines
            )
            and all(runtime.service.latest(sym, time.monotonic()).signal for sym in trader.engines)
        ):
            assert asyncio.get_running_loop().time() < deadline, "no synced, advised frame"
            await asyncio.sleep(0.02)  # polls the condition
        frame = dashboard.render_text(width=160)
        shown = recorder.latest["BTCUSDT"].best_bid
        btc_bid = trader.feed_of("BTCUSDT").book("BTCUSDT").best_bid()[0]
        trader.stop()
        await task
        trader.shutdown()
    await runtime.aclose()

    assert "starting" in before
    assert "test run" in frame and "BTCUSDT" in frame and "ETHUSDT" in frame
    assert frame.count("synced") >= 2
    assert "binance-spot" in frame and "bybit-spot" in frame
    assert "offline rules advisor" in frame and "signal" in frame
    assert "tick-to-quote" in frame
    # the top of book shown is the book's (sampled within the last timer period); `shown`
    # is read with the frame: re-reading it after shutdown raced a later sample
    assert abs(shown - btc_bid) / btc_bid < 0.01 and f"{shown:,.6g}" in frame
