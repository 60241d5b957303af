"""Memory stays flat over a long replay: nothing in the book path grows with the message count."""

from __future__ import annotations

import gc
import os

from mmcore import ApplyStatus, OrderBook
from mmcore._core import synthetic_binance_stream


def rss_bytes() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def test_rss_and_book_memory_stay_flat_over_a_long_replay():
    snapshot, events = synthetic_binance_stream(events=100_000, levels=1000, changes=6, seed=11)
    book = OrderBook("BTCUSDT", "binance-spot")
    assert book.apply_snapshot(snapshot) == ApplyStatus.APPLIED
    # Warm up: the ladders and scratch buffers reach their working size.
    for payload in events[:20_000]:
        book.apply(payload)
        book.features()
    gc.collect()
    rss_before, heap_before = rss_bytes(), book.heap_bytes
    # Then the same stream four more times over, re-synced each time: 320k more payloads.
    for _ in range(4):
        book.reset()
        assert book.apply_snapshot(snapshot) == ApplyStatus.APPLIED
        for payload in events[:80_000]:
            book.apply(payload)
            book.features()
    gc.collect()
    assert book.gaps == 0 and book.malformed == 0
    assert book.heap_bytes <= heap_before * 1.5
    assert rss_bytes() - rss_before < 4 * 1024 * 1024
