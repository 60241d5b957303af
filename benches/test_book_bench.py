"""pytest-benchmark for mmcore's Python order-book API on the synthetic Binance diff stream.

Run with ``python -m pytest benches --benchmark-only`` (the normal test run skips benchmarks).
Per-round times cover a whole pass over the stream where the book must move forward event by
event (apply, replay); ``extra_info`` then carries the per-event figure.
"""

from __future__ import annotations

import json
import math

import pytest

from mmcore.testing.synthetic import binance_diff_stream

try:
    from mmcore import ApplyStatus, OrderBook
except ImportError as exc:  # the Rust core is not built (yet) in this environment
    pytest.skip(f"mmcore.OrderBook is not available ({exc})", allow_module_level=True)

N_EVENTS = 20_000
DEPTH = 5


@pytest.fixture(scope="module")
def stream() -> tuple[bytes, list[bytes]]:
    return binance_diff_stream(n_events=N_EVENTS)


def _synced_book(snapshot: bytes) -> OrderBook:
    book = OrderBook("BTCUSDT", "binance-spot")
    assert book.apply_snapshot(snapshot) == ApplyStatus.APPLIED
    return book


def _apply_all(book: OrderBook, events: list[bytes]) -> OrderBook:
    apply = book.apply
    for payload in events:
        apply(payload)
    return book


def test_apply_per_event(benchmark, stream):
    snapshot, events = stream
    book = benchmark.pedantic(
        _apply_all,
        setup=lambda: ((_synced_book(snapshot), events), {}),
        rounds=5,
        iterations=1,
    )
    benchmark.extra_info["events_per_round"] = len(events)
    benchmark.extra_info["median_ns_per_event"] = benchmark.stats.stats.median / len(events) * 1e9
    counters = book.counters()
    assert (counters["stale"], counters["gaps"], counters["malformed"]) == (0, 0, 0)
    assert book.last_update_id == _last_u(events)


def test_features_top5(benchmark, stream):
    snapshot, events = stream
    book = _apply_all(_synced_book(snapshot), events[: N_EVENTS // 2])
    features = benchmark(book.features, DEPTH)
    assert features.best_bid < features.best_ask
    assert math.isfinite(features.microprice)


def test_bids_top10(benchmark, stream):
    snapshot, events = stream
    book = _apply_all(_synced_book(snapshot), events[: N_EVENTS // 2])
    book.bids(10)  # the first array of a process loads numpy's C API (~0.1 s): not timed
    bids = benchmark(book.bids, 10)
    assert bids.shape == (10, 2)
    assert (bids[:-1, 0] > bids[1:, 0]).all()


def test_replay_batch(benchmark, stream):
    snapshot, events = stream
    statuses, matrix = benchmark.pedantic(
        lambda book: book.replay(events, depth=DEPTH),
        setup=lambda: ((_synced_book(snapshot),), {}),
        rounds=5,
        iterations=1,
    )
    benchmark.extra_info["events_per_round"] = len(events)
    benchmark.extra_info["events_per_s"] = len(events) / benchmark.stats.stats.median
    assert (statuses == int(ApplyStatus.APPLIED)).all()
    assert matrix.shape[0] == len(events)


def _last_u(events: list[bytes]) -> int:
    return json.loads(events[-1])["u"]
