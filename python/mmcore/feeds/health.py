"""Feed metrics, per-symbol health, and the bounded, coalescing update notifications."""

from __future__ import annotations

import asyncio
import enum
from collections import deque
from dataclasses import dataclass

import numpy as np

__all__ = ["BookUpdates", "FeedMetrics", "FeedState", "RateMeter", "SymbolHealth"]


class FeedState(enum.Enum):
    """A symbol's book as the strategy should see it."""

    SYNCED = "synced"
    UNSYNCED = "unsynced"
    STALE = "stale"  # synced, but no update for longer than quote_stale_after_s


@dataclass(frozen=True, slots=True)
class SymbolHealth:
    """One symbol's health: state, age of the last update (None if never), safe to quote."""

    symbol: str
    state: FeedState
    age_s: float | None
    safe_to_quote: bool


class FeedMetrics:
    """Counters for every message, drop, gap, resync, retry; latency samples in a ring."""

    __slots__ = (
        "bytes",
        "coalesced",
        "gaps",
        "late_snapshots_dropped",
        "latency_ms",
        "latency_sampled",
        "malformed",
        "msgs",
        "reconnects",
        "rest_rate_limited",
        "resyncs",
        "rotations",
        "stale_disconnects",
        "subscribe_errors",
        "trades",
    )

    def __init__(self, latency_samples: int = 4096) -> None:
        self.msgs = 0
        self.bytes = 0
        self.trades = 0
        self.gaps = 0  # GAP / SNAPSHOT_TOO_OLD / CHECKSUM_MISMATCH / BUFFER_OVERFLOW statuses
        self.resyncs = 0  # resync actions started (snapshot fetches or resubscribes)
        self.reconnects = 0
        self.rotations = 0  # make-before-break connection swaps
        self.stale_disconnects = 0
        self.malformed = 0
        self.subscribe_errors = 0
        self.late_snapshots_dropped = 0  # snapshots that arrived for a closed connection
        self.rest_rate_limited = 0
        self.coalesced = 0  # book notifications merged into a pending one
        self.latency_ms: deque[float] = deque(maxlen=latency_samples)
        self.latency_sampled = 0  # samples ever appended to latency_ms (the ring drops old ones)

    def snapshot(self) -> dict[str, float]:
        """All counters plus exchange-to-local latency p50/p99 (ms) over the recent samples."""
        out: dict[str, float] = {
            name: getattr(self, name) for name in self.__slots__ if name != "latency_ms"
        }
        if self.latency_ms:
            p50, p99 = np.percentile(np.fromiter(self.latency_ms, float), [50, 99])
            out |= {"latency_p50_ms": float(p50), "latency_p99_ms": float(p99)}
        return out


class RateMeter:
    """Messages/s and bytes/s between two calls of :meth:`rates`."""

    def __init__(self, metrics: FeedMetrics, now_s: float) -> None:
        self._metrics = metrics
        self._last = (now_s, metrics.msgs, metrics.bytes)

    def rates(self, now_s: float) -> tuple[float, float]:
        """(messages per second, bytes per second) since the previous call."""
        t0, m0, b0 = self._last
        m = self._metrics
        self._last = (now_s, m.msgs, m.bytes)
        dt = max(now_s - t0, 1e-9)
        return (m.msgs - m0) / dt, (m.bytes - b0) / dt


class BookUpdates:
    """Which symbols' books changed since the consumer last looked: one entry per symbol.

    Memory is bounded by the number of symbols whatever the consumer's speed: a symbol marked
    again before it was taken is coalesced (the book itself always holds the newest state) and
    counted in ``FeedMetrics.coalesced``.
    """

    def __init__(self, metrics: FeedMetrics) -> None:
        self._dirty: dict[str, None] = {}
        self._event = asyncio.Event()
        self._metrics = metrics

    def mark(self, symbol: str) -> None:
        """Note that ``symbol``'s book changed (hot path: a dict probe and maybe an insert)."""
        if symbol in self._dirty:
            self._metrics.coalesced += 1
        else:
            self._dirty[symbol] = None
            self._event.set()

    def __len__(self) -> int:
        return len(self._dirty)

    def take(self) -> list[str]:
        """The changed symbols in first-changed order; clears them."""
        out = list(self._dirty)
        self._dirty.clear()
        self._event.clear()
        return out

    async def wait(self) -> list[str]:
        """Wait until at least one symbol changed, then :meth:`take`."""
        await self._event.wait()
        return self.take()
