"""The live trading loop: feeds → Rust books → one :class:`~mmcore.engine.Engine` per symbol.

The same loop serves the simulated market, paper trading on real venues' public data and, with
a live venue adapter, live trading: only the feed URLs and the venue differ. Book updates are
taken from each feed's coalescing notification (the book always holds the newest state), trade
prints go to the engine as they arrive (a paper venue fills from them), a timer catches stale
books and refreshes the advisors, and nothing here ever awaits an LLM.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal

import numpy as np

from mmcore._core import OrderBook
from mmcore.advisors.service import AdvisorService
from mmcore.engine import Engine
from mmcore.execution import (
    ACTIVE_STATUSES,
    ExecutionConfig,
    OrderManager,
    PaperConfig,
    PaperVenue,
    Side,
    Trade,
)
from mmcore.execution.venue import ReadinessVenue, Venue
from mmcore.feeds import Feed
from mmcore.feeds.trades import parse_trades
from mmcore.journal import Journal
from mmcore.portfolio import Portfolio
from mmcore.risk import RiskConfig, RiskManager
from mmcore.strategy import QuoteConfig, Quoter

__all__ = [
    "SymbolSetup",
    "Trader",
    "TraderStats",
    "advice_features",
    "build_engine",
    "working_quotes",
]

log = logging.getLogger("mmcore.trader")


@dataclass(frozen=True)
class SymbolSetup:
    """Everything that trades one symbol: its feed venue and the engine's configs."""

    symbol: str
    venue: str
    quote: QuoteConfig
    risk: RiskConfig
    paper: PaperConfig = field(default_factory=PaperConfig)
    execution: ExecutionConfig = field(default_factory=ExecutionConfig)


def build_engine(
    s: SymbolSetup,
    portfolio: Portfolio,
    *,
    journal: Journal | None = None,
    advisors: AdvisorService | None = None,
    wall_clock_offset_s: float | None = None,
    venue: Venue | None = None,
) -> Engine:
    """The engine of one symbol (its book is a placeholder until the feed's book replaces
    it), on ``venue`` (a live venue) or else a paper venue. The quote model's fee floor is the
    paper config's maker fee. ``wall_clock_offset_s``: engine time plus it is Unix time, for
    the exchange-time stale guard (None: the engine's clock is the venue's, as in a
    simulated-time run)."""
    placeholder = OrderBook(s.symbol, s.venue)
    if venue is None:
        # one paper venue per symbol; its name keeps fill ids unique in the shared journal
        venue = PaperVenue(
            s.paper, s.quote.tick_size, name=f"paper-{s.symbol}", lot_size=s.risk.lot_size
        )
    risk = RiskManager(s.risk, s.quote.tick_size)
    orders = OrderManager(s.symbol, venue, s.execution, risk.gate)
    return Engine(  # registers the symbol's tick and lot with the portfolio
        placeholder,
        Quoter(s.quote, maker_fee_bps=s.paper.maker_fee_bps),
        risk,
        orders,
        venue,
        portfolio,
        journal=journal,
        advisors=advisors,
        wall_clock_offset_s=wall_clock_offset_s,
    )


def advice_features(engine: Engine, max_position: float) -> dict[str, float]:
    """The finite features the advisors see for ``engine``'s symbol (NaN: not yet known)."""
    f = engine.book.features(engine.depth)
    position = engine.portfolio.position(engine.symbol)
    features = {
        "mid": f.mid,
        "spread_bps": f.spread_bps,
        "microprice": f.microprice,
        "imbalance": f.imbalance,
        "volatility_bps": f.volatility_bps,
        "vpin": f.vpin,
        "inventory": position.qty / max_position,
        "pnl": position.net,
    }
    return {k: v for k, v in features.items() if math.isfinite(v)}


def working_quotes(engine: Engine, tick: float) -> tuple[float, float]:
    """``engine``'s best working bid and ask prices (NaN for a side without an order)."""
    bid = ask = math.nan
    # rounded to the tick's own decimals: ticks * 0.01 may be 100008.90000000001 in binary
    decimals = max(0, -int(Decimal(repr(tick)).as_tuple().exponent))
    for order in engine.orders.orders.values():
        if order.status not in ACTIVE_STATUSES:
            continue
        px = round(order.price_ticks * tick, decimals)
        if order.side is Side.BUY:
            bid = px if math.isnan(bid) else max(bid, px)
        else:
            ask = px if math.isnan(ask) else min(ask, px)
    return bid, ask


class TraderStats:
    """Counters and the tick-to-quote samples (seconds, bounded ring)."""

    def __init__(self, samples: int = 65_536) -> None:
        self.book_events = 0
        self.trades = 0
        self.bad_trades = 0
        self.quotes = 0  # decisions made
        self.tick_to_quote: deque[float] = deque(maxlen=samples)
        self.first_quote_at: float | None = None

    def tick_to_quote_us(self) -> tuple[float, float]:
        """(p50, p99) tick-to-quote in microseconds (NaN before any quote)."""
        if not self.tick_to_quote:
            return math.nan, math.nan
        p50, p99 = np.percentile(np.fromiter(self.tick_to_quote, float), [50, 99])
        return float(p50) * 1e6, float(p99) * 1e6


class Trader:
    """Runs engines on live feeds until :meth:`stop`; :meth:`shutdown` cancels and flushes."""

    def __init__(
        self,
        feeds: list[Feed],
        setups: list[SymbolSetup],
        *,
        journal: Journal | None = None,
        advisors: AdvisorService | None = None,
        timer_s: float = 0.1,
        advise_every_s: float = 1.0,
        on_sample: Callable[[float], None] | None = None,
        venues: dict[str, Venue] | None = None,
    ) -> None:
        self.feeds = {f.config.venue: f for f in feeds}
        self.setups = {s.symbol: s for s in setups}
        for s in setups:
            feed = self.feeds.get(s.venue)
            if feed is None or s.symbol not in feed.config.symbols:
                raise ValueError(f"{s.symbol}: no feed for it on {s.venue}")
        self.portfolio = Portfolio()
        self.journal = journal
        self.advisors = advisors
        self.timer_s = timer_s
        self.advise_every_s = advise_every_s
        self.on_sample = on_sample
        self.stats = TraderStats()
        self.started_at = time.monotonic()
        # engine time is time.monotonic(); venues stamp book events in Unix time
        wall_offset_s = time.time() - time.monotonic()
        self.engines = {}
        for s in setups:
            engine = build_engine(
                s,
                self.portfolio,
                journal=journal,
                advisors=advisors,
                wall_clock_offset_s=wall_offset_s,
                venue=(venues or {}).get(s.symbol),
            )
            engine.request_resync = self.feeds[s.venue].resync  # a crossed book is resynced
            self.engines[s.symbol] = engine
        self._ticks = {s.symbol: s.quote.tick_size for s in setups}
        # live venues that can be not ready (checked once here: isinstance is slow per quote)
        self._gated: dict[str, ReadinessVenue] = {
            sym: e.venue for sym, e in self.engines.items() if isinstance(e.venue, ReadinessVenue)
        }
        self._stop = asyncio.Event()
        for venue, feed in self.feeds.items():
            feed.on_trade = self._trade_handler(venue)
            feed.on_book = self._book_handler(feed)

    # ---- read side -------------------------------------------------------------------------
    def feed_of(self, symbol: str) -> Feed:
        """The feed that carries ``symbol``."""
        return self.feeds[self.setups[symbol].venue]

    def working_quotes(self, symbol: str) -> tuple[float, float]:
        """Our best working bid and ask prices (NaN for a side without an order)."""
        return working_quotes(self.engines[symbol], self._ticks[symbol])

    # ---- lifecycle -------------------------------------------------------------------------
    def stop(self) -> None:
        """Ask :meth:`run` to return."""
        self._stop.set()

    async def run(self) -> None:
        """Run the feeds, the quote loop and the timer until :meth:`stop`."""
        tasks = [asyncio.create_task(f.run(), name=f"feed-{v}") for v, f in self.feeds.items()]
        tasks += [asyncio.create_task(self._consume(f)) for f in self.feeds.values()]
        tasks.append(asyncio.create_task(self._timer()))
        stopper = asyncio.create_task(self._stop.wait())
        try:
            done, _ = await asyncio.wait([*tasks, stopper], return_when=asyncio.FIRST_COMPLETED)
            for task in done:
                if task is not stopper and task.exception() is not None:
                    raise task.exception()  # type: ignore[misc]
        finally:
            for feed in self.feeds.values():
                feed.stop()
            for task in [*tasks, stopper]:
                task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await asyncio.gather(*tasks, return_exceptions=True)

    def shutdown(self) -> int:
        """Stop quoting, cancel every working order, flush the journal; returns cancels sent."""
        now = time.monotonic()
        # each engine lets its cancels land at the paper venue and records their outcome
        sent = sum(engine.shutdown(now) for engine in self.engines.values())
        if self.journal is not None:
            self.journal.flush()
        return sent

    # ---- the loop --------------------------------------------------------------------------
    def _venue_ready(self, symbol: str) -> bool:
        """False while a live venue is reconciling its private streams or halted by a ban."""
        venue = self._gated.get(symbol)
        return venue is None or venue.ready

    def _quote(self, feed: Feed, symbol: str, waited_ns: int) -> bool:
        """Quote ``symbol`` on its new book; False when it is not ours or not safe to quote.
        ``waited_ns``: time since the frame was received, for tick-to-quote."""
        engine = self.engines.get(symbol)
        if engine is None:
            return False
        now = time.monotonic()
        if not (feed.safe_to_quote(symbol) and self._venue_ready(symbol)):
            # cancels and stops quoting until the feed is safe and a live venue's private
            # streams are reconciled
            engine.feed_unsafe(now)
            return False
        engine.book = feed.book(symbol)  # type: ignore[assignment]
        # The paper venue's own book processing is the simulated exchange's work, and venue
        # events (acks, fills) are their own input stream: tick-to-quote (frame received ->
        # quotes decided) leaves both out; the events are still applied before the decision.
        engine.show_book_to_venue(now)
        engine.take_venue_events(now)
        t0 = time.perf_counter_ns()
        decision = engine.quote(now)
        stats = self.stats
        stats.book_events += 1
        if decision is not None:
            stats.quotes += 1
            stats.tick_to_quote.append((waited_ns + engine.decided_ns - t0) * 1e-9)
            if stats.first_quote_at is None:
                stats.first_quote_at = time.monotonic()
        return True

    def _book_handler(self, feed: Feed) -> Callable[[str, int], bool]:
        """Quotes inside the frame's own call: no hop to another task between the book change
        and the decision."""

        def on_book(symbol: str, rx_ns: int) -> bool:
            return self._quote(feed, symbol, time.monotonic_ns() - rx_ns)

        return on_book

    async def _consume(self, feed: Feed) -> None:
        """Book changes the frame handler did not take (syncs, resyncs, unsafe moments)."""
        while True:
            for symbol in await feed.updates.wait():
                health = feed.health(symbol)
                self._quote(feed, symbol, int((health.age_s or 0.0) * 1e9))

    def _trade_handler(self, venue: str) -> Callable[[str, bytes | str, int], None]:
        def on_trade(symbol: str, frame: bytes | str, _rx_ns: int) -> None:
            engine = self.engines.get(symbol)
            if engine is None:
                return
            try:
                prints = parse_trades(venue, frame)
            except ValueError as exc:
                self.stats.bad_trades += 1
                log.warning(
                    "trade_frame_unreadable venue=%s symbol=%s error=%s", venue, symbol, exc
                )
                return
            now = time.monotonic()
            inv_tick = 1.0 / self._ticks[symbol]
            for p in prints:
                self.stats.trades += 1
                engine.on_trade(Trade(round(p.price * inv_tick), p.qty, p.buyer_aggressor), now)

        return on_trade

    async def _timer(self) -> None:
        next_advice = 0.0
        while True:
            await asyncio.sleep(self.timer_s)
            now = time.monotonic()
            for symbol, engine in self.engines.items():
                feed = self.feed_of(symbol)
                if not (feed.safe_to_quote(symbol) and self._venue_ready(symbol)):
                    # no requote on the last book
                    engine.feed_unsafe(now)
                    continue
                book = feed.book(symbol)
                if book is not None:
                    engine.book = book
                engine.on_timer(now)
            if self.advisors is not None and now >= next_advice:
                next_advice = now + self.advise_every_s
                for symbol in self.engines:
                    self._advise(symbol)
            if self.on_sample is not None:
                self.on_sample(now)

    def _advise(self, symbol: str) -> None:
        engine = self.engines[symbol]
        feed = self.feed_of(symbol)
        if not feed.safe_to_quote(symbol):
            return
        finite = advice_features(engine, self.setups[symbol].quote.max_position)
        assert self.advisors is not None
        self.advisors.submit(symbol, finite)
