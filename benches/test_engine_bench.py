"""pytest-benchmark for the trading engine: tick-to-quote latency and replay throughput.

Run with ``python -m pytest benches/test_engine_bench.py --benchmark-only -p no:cacheprovider``.
``extra_info`` carries the per-event figures (p50/p99 tick-to-quote in µs, events/s).
"""

from __future__ import annotations

import time

import numpy as np
import pytest

from mmcore.testing.trading import make_engine, session

N_EVENTS = 20_000


@pytest.fixture(scope="module")
def replay_session():
    return session(N_EVENTS, seed=5)


def test_tick_to_quote_latency(benchmark, replay_session):
    """Book update applied → target quotes decided and diffed (risk, orders, paper venue)."""
    snapshot, items = replay_session
    engine = make_engine(snapshot)
    book_items = [(t, p) for t, p in items if isinstance(p, bytes)]
    samples = np.empty(len(book_items))
    clock = time.perf_counter_ns

    def run():
        apply, on_book = engine.book.apply, engine.on_book
        for i, (now, payload) in enumerate(book_items):
            apply(payload)
            t0 = clock()
            on_book(now)
            samples[i] = clock() - t0

    benchmark.pedantic(run, rounds=1, iterations=1)
    p50, p99 = np.percentile(samples, [50, 99]) / 1e3
    benchmark.extra_info.update(
        tick_to_quote_p50_us=round(p50, 2), tick_to_quote_p99_us=round(p99, 2)
    )
    print(f"\ntick-to-quote p50={p50:.2f} µs p99={p99:.2f} µs over {len(samples)} updates")


def test_replay_throughput(benchmark, replay_session):
    """Whole replay: book apply + features + strategy + risk + order manager + paper venue."""
    snapshot, items = replay_session

    def run():
        engine = make_engine(snapshot)
        return engine.replay(items)

    stats = benchmark.pedantic(run, rounds=3, iterations=1)
    events = stats.book_events + stats.trades
    rate = events / benchmark.stats.stats.median
    benchmark.extra_info.update(events=events, events_per_s=round(rate), fills=stats.fills)
    print(
        f"\nreplay: {events} events ({stats.book_events} book, {stats.trades} trades), "
        f"{rate:,.0f} events/s, {stats.fills} fills"
    )
