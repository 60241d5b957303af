"""Metrics overhead on the quote path: the demo pipeline with and without Prometheus scrapes.

Run: ``nice -n 10 python -m pytest benches/test_ops_bench.py -q -p no:cacheprovider
--benchmark-only -s``. The collector reads existing counters at scrape time, so the quote
path does no metrics work; this measures what is left: a scrape (every ``SCRAPE_EVERY``
frames, far more often than Prometheus's 15 s) running between frames on the same loop, and
the feed session's one counter increment per latency sample (in both arms). Arms alternate,
five rounds each; the figures are medians and their ratio.
"""

from __future__ import annotations

import asyncio
import time

import numpy as np
from benches.test_demo_bench import _capture_binance
from prometheus_client import CollectorRegistry, generate_latest

from mmcore.demo import DEMO_LISTINGS, demo_setups, feeds_for
from mmcore.feeds import BookUpdates, FeedMetrics
from mmcore.feeds.session import BookSession
from mmcore.ops.metrics import TraderCollector
from mmcore.sim import SimMarket
from mmcore.trader import Trader

FRAMES = 20_000
SCRAPE_EVERY = 2_000
ROUNDS = 5


def _pipeline(trader: Trader, snapshot: bytes, frames: list[bytes], scrape) -> np.ndarray:
    """Tick-to-quote samples (ns) of one pass; ``scrape`` (or None) every SCRAPE_EVERY frames."""
    metrics = FeedMetrics()
    session = BookSession(
        "binance-spot", ("BTCUSDT",), 1, metrics=metrics, updates=BookUpdates(metrics)
    )
    session.on_trade = trader._trade_handler("binance-spot")
    engine = trader.engines["BTCUSDT"]
    # the captured frames' event times age while the arms alternate: book age is measured
    # from our own receipt instead, so every pass quotes as the first one would
    engine.wall_clock_offset_s = None
    out = []
    clock = time.perf_counter_ns
    for i, frame in enumerate(frames):
        if scrape is not None and i % SCRAPE_EVERY == 0:
            scrape()
        t0 = clock()
        session.on_frame(frame, t0)
        if session.router.book("BTCUSDT").buffered_len == 1:
            session.on_snapshot("BTCUSDT", snapshot, t0)
        if session.last_ns.get("BTCUSDT") == t0:
            engine.book = session.router.book("BTCUSDT")
            t_venue = clock()
            engine.show_book_to_venue(t0 / 1e9)
            venue_ns = clock() - t_venue
            if engine.quote(t0 / 1e9) is not None:
                out.append(engine.decided_ns - t0 - venue_ns)
    return np.asarray(out, dtype=float)


def test_scrapes_do_not_slow_the_quote_path(benchmark):
    snapshot, frames = asyncio.run(_capture_binance(FRAMES))

    async def build() -> Trader:
        async with SimMarket(list(DEMO_LISTINGS), speed=1) as market:
            return Trader(feeds_for(market), demo_setups())

    registry = CollectorRegistry(auto_describe=False)
    results: dict[str, list[tuple[float, float]]] = {"off": [], "on": []}
    scrape_ms: list[float] = []

    def scrape() -> None:
        t0 = time.perf_counter()
        generate_latest(registry)
        scrape_ms.append((time.perf_counter() - t0) * 1e3)

    def run() -> None:
        for _ in range(ROUNDS):
            for arm in ("off", "on"):
                trader = asyncio.run(build())
                if arm == "on":
                    for c in list(registry._collector_to_names):
                        registry.unregister(c)
                    registry.register(TraderCollector(trader))
                ttq = _pipeline(trader, snapshot, frames, scrape if arm == "on" else None)
                results[arm].append((np.median(ttq), np.percentile(ttq, 99)))

    benchmark.pedantic(run, rounds=1, iterations=1)
    off50, off99 = (
        np.median([r[0] for r in results["off"]]),
        np.median([r[1] for r in results["off"]]),
    )
    on50, on99 = np.median([r[0] for r in results["on"]]), np.median([r[1] for r in results["on"]])
    print(
        f"\ntick-to-quote without scrapes p50 {off50 / 1e3:.2f}us p99 {off99 / 1e3:.2f}us; "
        f"with a scrape every {SCRAPE_EVERY} frames p50 {on50 / 1e3:.2f}us p99 {on99 / 1e3:.2f}us; "
        f"ratio p50 {on50 / off50:.3f} p99 {on99 / off99:.3f}; "
        f"scrape {np.median(scrape_ms):.2f} ms median ({len(scrape_ms)} scrapes)"
    )
    assert on50 / off50 < 1.1  # not measurably slower: within the noise of a shared machine
