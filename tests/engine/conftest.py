"""Engine fixtures: configs, a synced book, a deterministic book + trade session."""

from __future__ import annotations

from pathlib import Path

import pytest

from mmcore import ApplyStatus, OrderBook
from mmcore._core import synthetic_binance_stream
from mmcore.testing.trading import (  # noqa: F401  (re-exported to the tests)
    SYMBOL,
    TICK,
    make_engine,
    quote_config,
    risk_config,
    session,
)


def synced_book(events: int = 200, seed: int = 1) -> OrderBook:
    snapshot, payloads = synthetic_binance_stream(events, 50, 6, seed)
    book = OrderBook(SYMBOL, "binance-spot", tick_size=TICK)
    assert book.apply_snapshot(snapshot) == ApplyStatus.APPLIED
    for p in payloads:
        book.apply(p)
    return book


@pytest.fixture
def journal_path(tmp_path: Path) -> Path:
    return tmp_path / "journal.sqlite"


def features(bid: float, ask: float, bid_size: float = 1.0, ask_size: float = 1.0, **kw):
    """A features record with the fields the strategy and risk read (the real type is built
    only by the Rust core)."""
    from types import SimpleNamespace

    mid = (bid + ask) / 2
    micro = (bid * ask_size + ask * bid_size) / (bid_size + ask_size)
    base = dict(
        best_bid=bid,
        best_ask=ask,
        mid=mid,
        microprice=micro,
        imbalance=(bid_size - ask_size) / (bid_size + ask_size),
        vpin=float("nan"),
        synced=1.0,
        crossed=0.0,
    )
    base.update(kw)
    return SimpleNamespace(**base)
