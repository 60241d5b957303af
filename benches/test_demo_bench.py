"""The demo pipeline: messages/s at full sim speed, tick-to-quote p99, start-up to first quote.

Run: ``python -m pytest benches/test_demo_bench.py -q -p no:cacheprovider --benchmark-only -s``
(figures are printed; each measurement runs once, timed with pytest-benchmark's pedantic mode).
"""

from __future__ import annotations

import asyncio
import time

import numpy as np
from websockets.asyncio.client import connect

from mmcore.demo import DEMO_LISTINGS, demo_setups, feeds_for
from mmcore.feeds import BookUpdates, FeedMetrics
from mmcore.feeds.session import BookSession
from mmcore.sim import SimMarket, SimMarketProcess
from mmcore.trader import Trader

FRAMES = 60_000


async def _capture_binance(n: int) -> tuple[bytes, list[bytes]]:
    """A REST snapshot and ``n`` frames of the sim's Binance venue, in arrival order."""
    listing = [DEMO_LISTINGS[0]]
    async with SimMarket(listing, seed=2, speed=0) as market:
        url = market.ws_url("binance-spot") + "/stream?streams=btcusdt@depth@100ms/btcusdt@trade"
        async with connect(url, max_queue=None) as ws:
            frames = [await ws.recv(decode=False)]
            server = market._servers["binance-spot"]
            snapshot = server._rest("/api/v3/depth", {"symbol": "BTCUSDT", "limit": "1000"})[1]
            while len(frames) < n:
                frames.append(await ws.recv(decode=False))
    import json

    return json.dumps(snapshot).encode(), frames


def test_pipeline_messages_per_s_and_tick_to_quote(benchmark):
    """One core: frame → Rust decode/book → trade prints → engine (strategy, risk, paper)."""
    snapshot, frames = asyncio.run(_capture_binance(FRAMES))
    setup = demo_setups()[0]

    async def build() -> tuple[Trader, BookSession]:
        async with SimMarket(list(DEMO_LISTINGS), speed=1) as market:
            trader = Trader(feeds_for(market), demo_setups())
        metrics = FeedMetrics()
        session = BookSession(
            "binance-spot", ("BTCUSDT",), 1, metrics=metrics, updates=BookUpdates(metrics)
        )
        session.on_trade = trader._trade_handler("binance-spot")
        return trader, session

    trader, session = asyncio.run(build())
    engine = trader.engines[setup.symbol]
    per_frame = np.empty(len(frames))
    tick_to_quote: list[int] = []

    def run() -> float:
        on_frame = session.on_frame
        router = session.router
        clock = time.perf_counter_ns
        started = clock()
        for i, frame in enumerate(frames):
            t0 = clock()
            on_frame(frame, t0)
            if router.book("BTCUSDT").buffered_len == 1:
                session.on_snapshot("BTCUSDT", snapshot, t0)
            if session.last_ns.get("BTCUSDT") == t0:  # this frame changed the book
                engine.book = router.book("BTCUSDT")
                # The paper venue's own book processing is the simulated exchange's work.
                t_venue = clock()
                engine.show_book_to_venue(t0 / 1e9)
                venue_ns = clock() - t_venue
                if engine.quote(t0 / 1e9) is not None:
                    tick_to_quote.append(engine.decided_ns - t0 - venue_ns)
            per_frame[i] = clock() - t0
        return (clock() - started) / 1e9

    elapsed = benchmark.pedantic(run, rounds=1, iterations=1)
    rate = len(frames) / elapsed
    p50, p99 = np.percentile(tick_to_quote, [50, 99]) / 1e3
    f50, f99 = np.percentile(per_frame, [50, 99]) / 1e3
    benchmark.extra_info.update(msgs_per_s=round(rate), tick_to_quote_p99_us=round(p99, 1))
    print(
        f"\npipeline: {len(frames)} frames in {elapsed:.2f}s = {rate:,.0f} msgs/s; "
        f"tick-to-quote (frame received -> quotes decided) p50 {p50:.1f}us p99 {p99:.1f}us "
        f"(target p99 <= 50); whole frame incl. paper venue and orders sent p50 {f50:.1f}us "
        f"p99 {f99:.1f}us; fills {engine.fills}"
    )
    assert engine.fills > 0


def test_end_to_end_rate_and_startup_to_first_quote(benchmark, tmp_path):
    """The whole demo as it runs: the sim in its own process at full speed (speed 0), the
    trading process (feeds + Rust books + engines + advisors) on the other core."""
    from mmcore.advisors.factory import build_advisor_service
    from mmcore.llm.config import load_llm_config

    async def go() -> tuple[float, float, int, tuple[float, float]]:
        t0 = time.monotonic()
        runtime = await build_advisor_service(load_llm_config(None, {}))
        async with SimMarketProcess(list(DEMO_LISTINGS), seed=1, speed=0) as market:
            trader = Trader(feeds_for(market), demo_setups(), advisors=runtime.service)
            task = asyncio.create_task(trader.run())
            while trader.stats.first_quote_at is None:
                await asyncio.sleep(0.001)
            first = trader.stats.first_quote_at - t0
            m0, s0 = sum(f.metrics.msgs for f in trader.feeds.values()), time.monotonic()
            await asyncio.sleep(5.0)
            msgs = sum(f.metrics.msgs for f in trader.feeds.values()) - m0
            rate = msgs / (time.monotonic() - s0)
            trader.stop()
            await task
            trader.shutdown()
        await runtime.aclose()
        return first, rate, msgs, trader.stats.tick_to_quote_us()

    first, rate, msgs, (p50, p99) = benchmark.pedantic(lambda: asyncio.run(go()), rounds=1)
    print(
        f"\nend to end (sim in a child process): start-up to first quote {first:.3f}s; "
        f"{rate:,.0f} msgs/s ({msgs} msgs); tick-to-quote incl. queueing p50 {p50:.0f}us "
        f"p99 {p99:.0f}us"
    )
    assert first < 10 and msgs > 0
