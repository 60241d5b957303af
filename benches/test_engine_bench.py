"""pytest-benchmark for the trading engine: tick-to-quote latency and replay throughput.

Run with ``python -m pytest benches/test_engine_bench.py --benchmark-only -p no:cacheprovider
-q -s``; each test prints one line with its figures and stores them in ``extra_info``
(p50/p99 tick-to-quote in µs, events/s). The targets (issue 5): tick-to-quote p99 ≤ 50 µs,
replay ≥ 100,000 events/s.

Replay runs twice: ``default`` is the test engine as configured (its drawdown kill switch fires
after about a fifth of the session, so most events pass through risk and the paper venue
without a quote), ``quoting`` lifts the drawdown limit so every event goes through the whole
quote → diff → paper venue path.
"""

from __future__ import annotations

import time
from collections import Counter

import numpy as np
import pytest

from mmcore.testing.trading import make_engine, session

N_EVENTS = 20_000
SCENARIOS = {"default": None, "quoting": {"max_drawdown": 1e12}}


@pytest.fixture(scope="module")
def replay_session():
    return session(N_EVENTS, seed=5)


def test_tick_to_quote_latency(benchmark, replay_session):
    """Book update applied → target quotes decided (the issue's definition: features, risk,
    advice overlay and the quote model), and → orders diffed and sent (order manager, paper
    venue). Both include the paper venue's own book update, which a live venue would not cost."""
    snapshot, items = replay_session
    engine = make_engine(snapshot)
    book_items = [(t, p) for t, p in items if isinstance(p, bytes)]
    decided = np.full(len(book_items), np.nan)
    sent = np.empty(len(book_items))
    statuses: Counter[str] = Counter()
    clock = time.perf_counter_ns

    def run():
        apply, on_book = engine.book.apply, engine.on_book
        for i, (now, payload) in enumerate(book_items):
            apply(payload)
            t0 = clock()
            decision = on_book(now)
            sent[i] = clock() - t0
            if decision is not None:
                decided[i] = engine.decided_ns - t0
            statuses[decision.status if decision is not None else engine.risk.state.value] += 1

    benchmark.pedantic(run, rounds=1, iterations=1)
    d50, d99 = np.nanpercentile(decided, [50, 99]) / 1e3
    s50, s99 = np.percentile(sent, [50, 99]) / 1e3
    benchmark.extra_info.update(
        tick_to_quote_p50_us=round(d50, 2),
        tick_to_quote_p99_us=round(d99, 2),
        tick_to_orders_sent_p50_us=round(s50, 2),
        tick_to_orders_sent_p99_us=round(s99, 2),
    )
    print(
        f"\ntick-to-quote (decided) p50={d50:.2f} µs p99={d99:.2f} µs (target p99 ≤ 50); "
        f"to orders sent p50={s50:.2f} µs p99={s99:.2f} µs; over {len(sent)} updates, "
        f"{dict(statuses)}"
    )


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_replay_throughput(benchmark, replay_session, scenario):
    """Whole replay: book apply + features + strategy + risk + order manager + paper venue."""
    snapshot, items = replay_session

    def run():
        engine = make_engine(snapshot, risk=SCENARIOS[scenario])
        return engine.replay(items)

    stats = benchmark.pedantic(run, rounds=3, iterations=1)
    events = stats.book_events + stats.trades
    rate = events / benchmark.stats.stats.median
    benchmark.extra_info.update(events=events, events_per_s=round(rate), fills=stats.fills)
    print(
        f"\nreplay[{scenario}]: {events} events ({stats.book_events} book, {stats.trades} "
        f"trades), {rate:,.0f} events/s (target ≥ 100,000), {stats.fills} fills"
    )
