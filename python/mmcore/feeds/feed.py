"""A live market-data feed: connect, subscribe, heartbeat, watchdog, resync, reconnect.

One :class:`Feed` runs one venue's symbols. They are split into as many connections as the
venue's per-connection limits require (:meth:`~mmcore.feeds.venue.VenueProtocol.
connection_groups`); each group is a :class:`~mmcore.feeds.shard.Shard` that connects,
resyncs, reconnects and rotates on its own, while every shard shares the feed's counters,
update notifications, tape and REST snapshot budget.
"""

from __future__ import annotations

import asyncio
import itertools
import time
from collections.abc import Callable, Coroutine
from typing import TYPE_CHECKING, Any

from mmcore import OrderBook
from mmcore.feeds.config import FeedConfig
from mmcore.feeds.health import BookUpdates, FeedMetrics, FeedState, SymbolHealth
from mmcore.feeds.protocols import make_protocol
from mmcore.feeds.rest import RestSnapshots
from mmcore.feeds.shard import Shard, ShardContext

if TYPE_CHECKING:
    from mmcore.tape import TapeWriter

__all__ = ["Feed"]


class Feed:
    """Live books for ``config.symbols`` on ``config.venue``; run with ``await feed.run()``.

    Read side (any time, from the same event loop): :meth:`book`, :meth:`health`,
    :meth:`safe_to_quote`, :attr:`metrics`, and :attr:`updates` (which symbols changed).
    Set :attr:`on_trade` before :meth:`run` to receive every trade frame as
    ``(symbol, frame, receive_ns)``, and :attr:`on_book` to handle a book change inside the
    frame's own call as ``(symbol, receive_ns) -> handled`` (unhandled changes go to
    :attr:`updates`).
    """

    def __init__(self, config: FeedConfig, *, tape: TapeWriter | None = None) -> None:
        self.config = config
        self.protocol = make_protocol(
            config.venue, config.symbols, config.book_depth, config.snapshot_limit
        )
        self.metrics = FeedMetrics()
        self.updates = BookUpdates(self.metrics)
        ws_base, rest_base = config.endpoints
        rest = (
            RestSnapshots(
                rest_base,
                weight_per_minute=config.rest_weight_per_minute,
                timeout_s=config.rest_timeout_s,
                ban_default_s=config.rest_ban_default_s,
                max_concurrency=config.rest_concurrency,
                on_rate_limited=self._count_rate_limited,
            )
            if self.protocol.rest_snapshots
            else None
        )
        self._ctx = ShardContext(config, self.metrics, self.updates, rest, tape, itertools.count(1))
        self._shards = [
            Shard(self._ctx, self.protocol.for_symbols(group), ws_base)
            for group in self.protocol.connection_groups()
        ]
        self._shard_of = {sym: shard for shard in self._shards for sym in shard.symbols}
        self._stop: asyncio.Event | None = None
        self.on_trade: Callable[[str, bytes | str, int], None] | None = None
        self.on_book: Callable[[str, int], bool] | None = None

    def _count_rate_limited(self) -> None:
        self.metrics.rest_rate_limited += 1

    # ---- read side -------------------------------------------------------------------------
    @property
    def connections(self) -> int:
        """How many connections the symbols are split over (one per shard)."""
        return len(self._shards)

    @property
    def epoch(self) -> int | None:
        """The newest epoch among the active connections (``None`` while none is connected);
        with one connection, that connection's epoch."""
        epochs = [s.active.epoch for s in self._shards if s.active is not None]
        return max(epochs) if epochs else None

    def book(self, symbol: str) -> OrderBook | None:
        """The active connection's book for ``symbol`` (``None`` while disconnected)."""
        active = self._shard(symbol).active
        return active.session.router.book(symbol) if active else None

    def health(self, symbol: str) -> SymbolHealth:
        """Synced / unsynced / stale, age of the last update, and whether to quote."""
        session = self._shard(symbol).book_session()
        if session is None:
            return SymbolHealth(symbol, FeedState.UNSYNCED, None, False)
        return session.health(symbol, time.monotonic_ns(), self.config.quote_stale_after_s)

    def safe_to_quote(self, symbol: str) -> bool:
        """True only for a synced book on a live connection updated within the stale limit."""
        return self.health(symbol).safe_to_quote

    async def wait_synced(self, timeout: float, symbols: tuple[str, ...] | None = None) -> bool:
        """Wait until every symbol (or ``symbols``) is safe to quote; False on timeout."""
        deadline = time.monotonic() + timeout
        wanted = symbols or self.config.symbols
        while not all(self.safe_to_quote(s) for s in wanted):
            if time.monotonic() > deadline:
                return False
            await asyncio.sleep(0.005)
        return True

    def resync(self, symbol: str) -> bool:
        """Rebuild ``symbol``'s book from a fresh snapshot (e.g. the venue sent a crossed
        book): the book is cleared, so it is not safe to quote until the snapshot is applied.
        True when a resync started; False while disconnected or already resyncing."""
        return self._shard(symbol).resync(symbol)

    def _shard(self, symbol: str) -> Shard:
        try:
            return self._shard_of[symbol]
        except KeyError:
            raise KeyError(
                f"{symbol!r} is not one of this feed's symbols {self.config.symbols}"
            ) from None

    # ---- lifecycle -------------------------------------------------------------------------
    async def run(self) -> None:
        """Keep every connection up and synced until :meth:`stop` is called."""
        self._stop = stop = asyncio.Event()
        self._ctx.on_trade, self._ctx.on_book = self.on_trade, self.on_book
        spacing = self.protocol.connect_interval_s
        tasks = [
            asyncio.create_task(_after(i * spacing, stop, shard.run(stop)))
            for i, shard in enumerate(self._shards)
        ]
        try:
            done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_EXCEPTION)
            for task in done:
                error = task.exception()
                if error is not None:
                    raise error
        finally:
            stop.set()  # one shard failing (a bad URL) stops the others
            await asyncio.gather(*tasks, return_exceptions=True)
            if self._ctx.rest is not None:
                await self._ctx.rest.aclose()

    def stop(self) -> None:
        """Ask :meth:`run` to close every connection and return."""
        if self._stop is not None:
            self._stop.set()


async def _after(delay: float, stop: asyncio.Event, run: Coroutine[Any, Any, None]) -> None:
    """Start ``run`` after ``delay`` seconds (venues limit new connections per second)."""
    if delay:
        try:
            await asyncio.wait_for(stop.wait(), delay)
        except TimeoutError:
            pass
        else:
            run.close()  # stopped before it started
            return
    await run
