"""Deterministic synthetic Binance spot diff-depth stream, for benchmarks and tests.

The stream imitates the shape of a liquid spot book (BTCUSDT-like, tick 0.01) without any
captured data: most level changes land near the touch (geometric in distance), levels are
deleted and later re-inserted, a few changes hit deep levels, and the mid wanders slowly as
touch levels empty out and new ones appear inside the spread. The book is never crossed, and the
level count per side is pulled back towards ``levels``.

It is generated in Rust (`rust/synthetic.rs`), so the criterion benches, the Python benchmarks
and the peer comparison all run on the same bytes.
"""

from __future__ import annotations

from mmcore._core import synthetic_binance_stream

SYMBOL = "BTCUSDT"
SNAPSHOT_LAST_UPDATE_ID = 40_000_000_000


def binance_diff_stream(
    n_events: int = 200_000,
    levels: int = 1000,
    changes_per_event: int = 6,
    seed: int = 1,
) -> tuple[bytes, list[bytes]]:
    """Build a REST depth snapshot body and the diff-depth payloads that follow it.

    Returns ``(snapshot, events)``: ``snapshot`` is a Binance spot ``/api/v3/depth`` body
    (``{"lastUpdateId":..,"bids":[[p,q],..],"asks":[..]}``, best first) with ``levels`` levels
    per side; ``events`` are raw ``depthUpdate`` payloads with contiguous update ids (the first
    has ``U == lastUpdateId + 1``, then ``U == previous u + 1``), absolute quantities, zero
    meaning delete. Each event carries between 1 and ``2 * changes_per_event - 1`` level changes
    (``changes_per_event`` on average), each price at most once per side. Prices and sizes are
    Binance-style strings with 8 decimals. The output depends only on the arguments.
    """
    if n_events < 0:
        raise ValueError(f"n_events must be >= 0, got {n_events}")
    if levels < 10:
        raise ValueError(f"levels must be >= 10, got {levels}")
    if changes_per_event < 1:
        raise ValueError(f"changes_per_event must be >= 1, got {changes_per_event}")
    return synthetic_binance_stream(n_events, levels, changes_per_event, seed)
