"""One connection epoch's books: the single decode path used by live feeds and tape replay.

Every frame goes to :meth:`BookSession.on_frame`, which makes exactly one call into the Rust
router and then does only O(1) bookkeeping: last-update time, the coalescing notification,
counters and, for a status that breaks sync, the resync callback.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Mapping

from mmcore import ApplyStatus, BookRouter, BookState
from mmcore.feeds.health import BookUpdates, FeedMetrics

__all__ = ["DEFAULT_VPIN_CALIBRATION_TRADES", "RESYNC_STATUSES", "BookSession"]

#: Without a configured bucket volume, a symbol's first this many trades set it (their total
#: volume is one bucket), so VPIN is defined on every feed (see ``[feeds]`` in mm.toml). Buckets
#: of a few hundred trades keep one sweep from filling several one-sided buckets by itself (at
#: 50 trades a bucket the demo's toxicity crossed the pull level in about a third of its runs).
DEFAULT_VPIN_CALIBRATION_TRADES = 200

RESYNC_STATUSES = frozenset(
    {
        ApplyStatus.GAP,
        ApplyStatus.SNAPSHOT_TOO_OLD,
        ApplyStatus.CHECKSUM_MISMATCH,
        ApplyStatus.BUFFER_OVERFLOW,
    }
)
_APPLIED = ApplyStatus.APPLIED
_TRADE = ApplyStatus.TRADE
_BUFFERED = ApplyStatus.BUFFERED
_SYNCED = BookState.SYNCED


class BookSession:
    """The router of one connection (epoch) plus per-symbol freshness.

    Two callbacks (settable after construction) tell the owner what a symbol needs:
    ``on_resync(symbol, status)`` once when a status in :data:`RESYNC_STATUSES` breaks sync
    (not again until the symbol is synced), and ``on_buffered(symbol)`` whenever the core
    buffers a diff because it waits for a snapshot. ``on_trade(symbol, frame, now_ns)`` gets
    every trade frame (the core keeps only flow aggregates; a paper venue needs the prints).
    """

    def __init__(
        self,
        venue: str,
        symbols: Iterable[str],
        epoch: int,
        *,
        metrics: FeedMetrics,
        updates: BookUpdates,
        max_buffer: int = 1024,
        latency_sample_every: int = 16,
        vpin_bucket_volume: Mapping[str, float] | None = None,
        vpin_calibration_trades: int = DEFAULT_VPIN_CALIBRATION_TRADES,
        on_resync: Callable[[str, ApplyStatus], None] | None = None,
        on_buffered: Callable[[str], None] | None = None,
        on_trade: Callable[[str, bytes | str, int], None] | None = None,
        on_book: Callable[[str, int], bool] | None = None,
    ) -> None:
        self.epoch = epoch
        self.symbols = tuple(symbols)
        self.router = BookRouter(
            venue,
            list(self.symbols),
            max_buffer=max_buffer,
            vpin_bucket_volume=dict(vpin_bucket_volume or {}),
            vpin_calibration_trades=vpin_calibration_trades,
        )
        self.last_ns: dict[str, int] = {}
        self.resyncing: set[str] = set()
        self._metrics = metrics
        self._updates = updates
        self._sample_every = latency_sample_every
        self._until_sample = latency_sample_every  # counts applied updates, not frames
        self.on_resync = on_resync
        self.on_buffered = on_buffered
        self.on_trade = on_trade
        self.on_book = on_book

    def on_frame(self, frame: bytes | str, now_ns: int) -> bool:
        """Apply one websocket frame; False when the core saw no book/trade data in it.

        Malformed frames raise ``mmcore.DecodeError`` (book unchanged); the caller decides
        whether the frame was a venue control message or is counted as malformed.
        """
        m = self._metrics
        m.msgs += 1
        m.bytes += len(frame)
        sym, st = self.router.apply(frame)
        if sym is None:
            return False
        if st == _APPLIED:
            self.last_ns[sym] = now_ns
            # A consumer that handles the change at once (quoting in the same call, no task
            # hop) takes it; otherwise it is queued, coalesced, for the consumer's task.
            if self.on_book is None or not self.on_book(sym, now_ns):
                self._updates.mark(sym)
            if self.resyncing and sym in self.resyncing:
                self._check_synced(sym)
            self._until_sample -= 1
            if not self._until_sample:
                self._sample_latency(sym)
        elif st == _TRADE:
            m.trades += 1
            if self.on_trade is not None:
                self.on_trade(sym, frame, now_ns)
        elif st in RESYNC_STATUSES:
            m.gaps += 1
            self.request_resync(sym, st)
        elif st == _BUFFERED and self.on_buffered is not None:
            self.on_buffered(sym)
        return True

    def on_snapshot(self, symbol: str, body: bytes, now_ns: int) -> ApplyStatus:
        """Apply a REST snapshot body to ``symbol``'s book."""
        st = self.router.apply_snapshot(symbol, body)
        if st == _APPLIED or self.is_synced(symbol):
            self.last_ns[symbol] = now_ns
            self._updates.mark(symbol)
        if self.is_synced(symbol):
            self.resyncing.discard(symbol)
        return st

    def request_resync(self, symbol: str, status: ApplyStatus) -> None:
        """Ask the owner for a resync of ``symbol`` unless one is already running."""
        if symbol in self.resyncing:
            return
        self.resyncing.add(symbol)
        if self.on_resync is not None:
            self.on_resync(symbol, status)

    def is_synced(self, symbol: str) -> bool:
        """The core holds a synced book for ``symbol``."""
        return self.router.book(symbol).state == _SYNCED

    def all_synced(self) -> bool:
        """Every symbol's book is synced (make-before-break waits for this)."""
        return all(self.is_synced(s) for s in self.symbols)

    def _check_synced(self, symbol: str) -> None:
        if self.is_synced(symbol):
            self.resyncing.discard(symbol)

    def _sample_latency(self, symbol: str) -> None:
        self._until_sample = self._sample_every
        event_ms = self.router.book(symbol).last_event_time_ms
        if event_ms is not None:
            metrics = self._metrics
            metrics.latency_ms.append(time.time_ns() / 1e6 - event_ms)
            metrics.latency_sampled += 1  # how many went into the ring, for draining it
