"""The engine loop for one symbol: book features → strategy → risk → orders → venue → portfolio.

Feed- and venue-agnostic: the caller applies payloads to the :class:`OrderBook` and calls
:meth:`Engine.on_book` (and :meth:`Engine.on_trade` for market trades, :meth:`Engine.on_timer`
when nothing arrives, so a stale book halts, and :meth:`Engine.feed_unsafe` while its feed
cannot be trusted). :meth:`Engine.replay` drives it from a list of ``(time_s, payload |
Trade)``, for tests, backtests and benchmarks. Venues that simulate fills (the paper venue)
also receive the book view and trades.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from time import perf_counter_ns
from typing import NamedTuple, Protocol

from mmcore._core import ApplyStatus, EngineCore, Features, OrderBook
from mmcore.advisors.service import AdvisorService
from mmcore.execution.manager import OrderManager
from mmcore.execution.orders import Order, OrderFilled, Side
from mmcore.execution.paper import PaperVenue, Trade, fill_from_tuple
from mmcore.execution.venue import CancelAllVenue, Venue
from mmcore.journal import Journal, JournalState
from mmcore.portfolio import Portfolio
from mmcore.risk.manager import RiskManager
from mmcore.strategy.overlay import NEUTRAL, Overlay, overlay_from
from mmcore.strategy.quoter import QuoteDecision, Quoter

__all__ = ["Engine", "ReplayStats", "Strategy"]

_APPLIED = ApplyStatus.APPLIED
# Enum member lookups (``Side.BUY``) cost ~100 ns each on CPython 3.11; hot paths use these.
_BUY = Side.BUY
# EngineCore.step / assess kinds: halted just now (orders cancelled), flatten, decide now
_HALTED_NOW, _FLATTEN, _DECIDE = 2, 3, 4


class Strategy(Protocol):
    """A quote strategy written in Python (:attr:`Engine.strategy`, the slow path)."""

    def decide(self, f: Features, position: float, now: float, overlay: Overlay) -> QuoteDecision:
        """Target quotes for features ``f`` and signed ``position`` at ``now``."""
        ...


class ReplayStats(NamedTuple):
    """Counts from one replay."""

    book_events: int
    trades: int
    skipped: int
    fills: int


class Engine:
    """Wires the components of one symbol; every method takes the current time in seconds."""

    def __init__(
        self,
        book: OrderBook,
        quoter: Quoter,
        risk: RiskManager,
        orders: OrderManager,
        venue: Venue,
        portfolio: Portfolio,
        *,
        journal: Journal | None = None,
        advisors: AdvisorService | None = None,
        depth: int = 5,
        sim_levels: int = 10,
        wall_clock_offset_s: float | None = None,
        strategy: Strategy | None = None,
    ) -> None:
        self._book = book
        self.symbol = book.symbol
        self.quoter = quoter
        self.risk = risk
        self.orders = orders
        self.venue = venue
        self.portfolio = portfolio
        # the portfolio counts this symbol's fills on its grid: the quote model's tick and the
        # desk's lot (a fill of a symbol never registered is refused, not guessed)
        portfolio.instrument(self.symbol, quoter.cfg.tick_size, orders.lot_size)
        self.journal = journal
        if journal is not None:
            orders.listener = self._record
        self.advisors = advisors
        self.depth = depth
        self.sim_levels = sim_levels
        # a simulated venue's Rust core, called directly on every event (no wrapper frame)
        self._sim = venue.sim if isinstance(venue, PaperVenue) else None
        self._tick = quoter.cfg.tick_size
        self._position = portfolio.position(self.symbol)  # restored in place, never replaced
        self.last_decision: QuoteDecision | None = None
        #: perf_counter_ns() when the last target quotes were decided (before orders are sent):
        #: the end point of tick-to-quote.
        self.decided_ns = 0
        self.fills = 0
        #: called after each fill reaches the portfolio with (fill, price, signed quantity,
        #: the mid the position was marked to when it happened): the run report's input
        #: Called with each fill as the portfolio applies it: ``(fill, price, signed_qty, mid,
        #: now)``, ``mid`` the mark it prevailed at, ``now`` when it was applied (the venue's
        #: ``fill.ts`` may be earlier: the fill was made, but not yet ours).
        self.on_fill: Callable[[OrderFilled, float, float, float, float], None] | None = None
        # -- risk inputs: book age on the exchange's clock, feed safety, resync on a crossed book
        #: ``now + wall_clock_offset_s`` is Unix time, the clock venues stamp events with: the
        #: book's age and the feed lag are then measured from its event time. None (replays
        #: on simulated time): the age is the time since the last book update.
        self._wall_clock_offset_s = wall_clock_offset_s
        self._exchange_clock_offset_s: float | None = None
        #: Called with the symbol while the book is crossed: rebuild it from a snapshot, True
        #: when a resync starts (the trader sets ``Feed.resync``); quoting is halted until the
        #: book is sound again.
        self.request_resync: Callable[[str], bool] | None = None
        self.resyncs_requested = 0
        self._crossed_resync_at: float | None = None
        self._feed_safe = True
        #: A book from a safe feed was quoted on since the feed was last lost: losing it now
        #: sends a venue-wide cancel (once per loss; before the first safe book there is
        #: nothing of ours to take down, and orders adopted at start stay working).
        self._sweep_on_loss = False
        self._overlay = NEUTRAL
        #: A strategy written in Python (the documented slow path): any object with
        #: ``decide(features, position, now, overlay) -> QuoteDecision``, asked on every book
        #: update in place of the built-in quote model (``quoter`` still feeds its
        #: configuration: ladder, fair value, calibration input). The features, risk, gate,
        #: order desk, venue and portfolio stay the Rust step's. Replays then run event by
        #: event, at Python speed.
        self.strategy: Strategy | None = strategy
        cfg = quoter.cfg
        #: The Rust engine step over the same components (``rust/engine/``): backtests run
        #: through it in batches (:meth:`replay`), with no Python per event.
        self.core = EngineCore(
            book,
            quoter.core,
            orders.desk,
            risk.core,
            self._position,
            self._sim,
            symbol=self.symbol,
            depth=depth,
            sim_levels=sim_levels,
            tick_size=self._tick,
            levels=cfg.levels,
            spacing=cfg.level_spacing_ticks,
            microprice_weight=cfg.microprice_weight,
            flow_alpha_bps=cfg.flow_alpha_bps,
            flow_halflife_s=cfg.flow_halflife_s,
            lean_bps=cfg.overlay.lean_bps,
            wall_clock_offset_s=wall_clock_offset_s,
        )

    @property
    def book(self) -> OrderBook:
        """The book the engine reads (replaceable: a feed may build a new one)."""
        return self._book

    @book.setter
    def book(self, book: OrderBook) -> None:
        self._book = book
        self.core.book = book

    @property
    def stopped(self) -> bool:
        """After shutdown: events are still processed, nothing is quoted."""
        return self.core.stopped

    @stopped.setter
    def stopped(self, stopped: bool) -> None:
        self.core.stopped = stopped

    @property
    def exchange_clock_offset_s(self) -> float | None:
        """How a paper venue dates market events. None (live and paper runs): by its
        ``feed_latency_s``, the same delay for every event. A number ``c`` (a backtest's
        per-message feed latency): by the event time of the frame the book applied last, on
        our clock ``event time - wall_clock_offset_s - c``, ``c`` being how far the exchange's
        clock runs ahead of ours; never after we see the event, never before what the venue
        already processed (``rust/paper.rs``). Needs :attr:`wall_clock_offset_s`."""
        return self._exchange_clock_offset_s

    @exchange_clock_offset_s.setter
    def exchange_clock_offset_s(self, offset: float | None) -> None:
        self.core.exchange_clock_offset_s = offset
        self._exchange_clock_offset_s = offset

    @property
    def wall_clock_offset_s(self) -> float | None:
        """``now + wall_clock_offset_s`` is Unix time, the clock venues stamp events with: the
        book's age and the feed lag are then measured from its event time. None (replays on
        simulated time): the age is the time since the last book update."""
        return self._wall_clock_offset_s

    @wall_clock_offset_s.setter
    def wall_clock_offset_s(self, offset: float | None) -> None:
        self._wall_clock_offset_s = offset
        self.core.wall_clock_offset_s = offset

    # -- inputs --------------------------------------------------------------------------
    def on_book(self, now: float) -> QuoteDecision | None:
        """The book just changed (a payload was applied): the paper venue sees it, venue
        events that have arrived are taken, then quote."""
        self.show_book_to_venue(now)
        self.take_venue_events(now)
        return self.quote(now)

    def show_book_to_venue(self, now: float) -> None:
        """Hands the new book to a simulated venue (its queue and fill model), dated as
        :attr:`exchange_clock_offset_s` says. This is the exchange's side of the simulation:
        a live venue does it on its own servers."""
        if self._sim is not None:
            self.core.show_book(now)

    def take_venue_events(self, now: float) -> None:
        """Apply the venue events (acks, fills, cancels) that have reached us by ``now``.

        They are their own input stream (a live venue pushes them as they happen); call this
        before :meth:`quote` so the decision sees every fill. Kept apart from :meth:`quote`
        so that tick-to-quote times the reaction to the book, not this bookkeeping.
        """
        fills = self.orders.take_events(now)
        if fills:
            for fill in fills:
                self._fill(fill, now)

    def quote(self, now: float) -> QuoteDecision | None:
        """Our reaction to a book change: features, risk, decide and send quotes (take the
        venue events first, as :meth:`on_book` does). The book comes from a safe feed."""
        self._feed_safe = True
        self._sweep_on_loss = True
        return self._step(now, received=True)

    def feed_unsafe(self, now: float) -> None:
        """The feed says the book cannot be trusted (resyncing, stale, disconnected): halt,
        cancelling every working order, and quote nothing (the timer included) until
        :meth:`quote` gets a book from a safe feed again. A venue that can
        (:class:`~mmcore.execution.venue.CancelAllVenue`, a live venue) also cancels every
        open order of the symbol, tracked or not, once per loss of the feed."""
        self.take_venue_events(now)
        self._feed_safe = False
        self._step(now)
        if self._sweep_on_loss:
            self._sweep_on_loss = False
            venue = self.venue
            if isinstance(venue, CancelAllVenue):
                venue.cancel_all(self.symbol, now)

    def on_trade(self, trade: Trade, now: float) -> None:
        """A market trade: calibration input and, for a simulated venue, possible fills."""
        self.quoter.on_trade(trade.price_ticks * self._tick)
        if self._sim is not None:
            self.core.show_trade(trade.price_ticks, trade.qty, trade.buyer_aggressor, now)
        self.take_venue_events(now)

    def on_timer(self, now: float) -> QuoteDecision | None:
        """Periodic check without a book change (detects a stale book, expires old orders)."""
        self.take_venue_events(now)
        return self._step(now)

    def replay(self, events: Iterable[tuple[float, bytes | str | Trade]]) -> ReplayStats:
        """Run through ``(time_s, payload or Trade)`` items; payloads go through the book.

        On the paper venue with nothing to tell per event (no journal or order listener, no
        advisors, no resync hook, no flatten kill action) the items run in one call of the
        Rust engine step (:meth:`EngineCore.run_batch`): no Python per event; the fills are
        handed to :attr:`on_fill` afterwards, in order. Otherwise each item goes through
        :meth:`on_book` / :meth:`on_trade`.
        """
        if self._batchable():
            items = events if isinstance(events, list) else list(events)
            before = self.core.fills
            books, trades, skipped, rows = self.core.run_batch(items, self.on_fill is not None)
            fills = self.core.fills - before
            self.fills += fills
            on_fill = self.on_fill
            if on_fill is not None:
                for fill, price, signed, mark, now in rows:
                    on_fill(fill_from_tuple(fill), price, signed, mark, now)
            return ReplayStats(books, trades, skipped, fills)
        book_events = trades = skipped = 0
        fills_before = self.fills
        apply = self.book.apply
        for now, item in events:
            if isinstance(item, Trade):
                trades += 1
                self.on_trade(item, now)
            elif apply(item) == _APPLIED:
                book_events += 1
                self.on_book(now)
            else:
                skipped += 1
        return ReplayStats(book_events, trades, skipped, self.fills - fills_before)

    def _batchable(self) -> bool:
        """True when a replay may run in Rust batches (see :meth:`replay`)."""
        return (
            self._sim is not None
            and self.journal is None
            and self.orders.listener is None
            and self.advisors is None
            and self.request_resync is None
            and self.strategy is None
            and self.risk.cfg.kill_action != "flatten"
            and not self.stopped
        )

    # -- lifecycle -----------------------------------------------------------------------
    def restore(self, state: JournalState, now: float) -> list[Order]:
        """Load positions and open orders from the journal, then reconcile with the venue.

        Orders the venue no longer holds are marked expired (returned); the rest are
        cancelled, so quoting restarts from a clean slate with the position known.
        """
        self.portfolio.restore([p for p in state.positions if p.symbol == self.symbol])
        mine = [o for o in state.open_orders if o.symbol == self.symbol]
        self.orders.restore(mine, state.last_client_seq)
        live = self.venue.open_orders(self.symbol)
        lost = []
        for order in mine:
            if order.client_id not in live:
                gone = self.orders.forget(order.client_id, now)
                if gone is not None:
                    lost.append(gone)
                    self._record(gone, "lost_on_restart", now)
        self.orders.cancel_all(now, "restart")
        return lost

    def shutdown(self, now: float, *, settle_s: float = 1.0, rounds: int = 5) -> int:
        """Stop quoting, cancel every working order and flush the journal; returns cancels sent.

        The venue's answers are taken ``settle_s`` later, up to ``rounds`` times: a cancel that
        overtook its order (latencies vary) finds nothing at the venue, the order lands after
        it, and only another cancel takes it down. The paper venue answers in simulated time,
        so this does not wait."""
        self.stopped = True
        sent = self.orders.cancel_all(now, "shutdown")
        self.take_venue_events(now)
        later = now
        for _ in range(rounds):
            if not self.orders.orders:
                break
            later += settle_s
            self.take_venue_events(later)
            if self.orders.orders:
                sent += self.orders.cancel_all(later, "shutdown")
        if self.journal is not None:
            self.journal.flush()
        return sent

    # -- internals -----------------------------------------------------------------------
    def _step(self, now: float, received: bool = False) -> QuoteDecision | None:
        """One engine step in Rust (:meth:`EngineCore.step`: features, marks, risk, quote
        model, gate, desk diff), or up to the decision for a Python :attr:`strategy`; then the
        desk's orders go to the venue and the listener here."""
        if self.stopped:
            return None
        if self.advisors is not None:
            self._update_overlay(now)
        decision = None
        if self.strategy is None:
            kind, row = self.core.step(now, received, self._feed_safe)
            self.decided_ns = perf_counter_ns()
            if row is not None:
                decision = self.quoter.decision(row)
        else:
            kind = self.core.assess(now, received, self._feed_safe)
            if kind == _DECIDE:
                decision = self._strategy_step(now)
        self.risk.log_gate_error()
        if kind == _HALTED_NOW:
            self.orders.flush(now, "halt:" + ",".join(self.risk.reasons))
        else:
            self.orders.flush(now, taker=kind == _FLATTEN)
        if self.core.crossed:
            self._resync_crossed(now)
        self.last_decision = decision
        return decision

    def _strategy_step(self, now: float) -> QuoteDecision:
        """The slow path: the Python strategy decides on the features (the overlay widened
        as the risk manager asks), the Rust step diffs the desk towards its targets."""
        overlay = self._overlay
        if self.risk.spread_mult != 1.0:
            overlay = overlay._replace(spread_mult=overlay.spread_mult * self.risk.spread_mult)
        f = self.book.features(self.depth)
        decision = self.strategy.decide(f, self._position.qty, now, overlay)  # type: ignore[union-attr]
        self.decided_ns = perf_counter_ns()
        self.core.submit(decision.bids, decision.asks, decision.fair_ticks, now)
        return decision

    def _update_overlay(self, now: float) -> None:
        """The advisors' latest advice as the overlay of the next steps."""
        latest = self.advisors.latest(self.symbol, now)  # type: ignore[union-attr]
        overlay = NEUTRAL
        if latest.signal is not None or latest.risk is not None:
            mid = self.book.features(self.depth).mid
            model_bps = self.quoter.model_spread_bps(mid)
            overlay = overlay_from(latest, now, model_bps, self.quoter.cfg.overlay)
        self._overlay = overlay
        self.core.set_overlay(
            overlay.spread_mult,
            overlay.size_mult,
            overlay.limit_mult,
            overlay.toxic_probability,
            overlay.halt,
            overlay.lean,
        )

    def _resync_crossed(self, now: float) -> None:
        """A venue's crossed book is not a market state: have the feed rebuild it (at most
        once per ``crossed_resync_s``, so a venue whose snapshots are crossed too is not
        asked for one on every update)."""
        last = self._crossed_resync_at
        if last is not None and now - last < self.risk.cfg.crossed_resync_s:
            return
        if self.request_resync is not None and self.request_resync(self.symbol):
            self._crossed_resync_at = now
            self.resyncs_requested += 1

    def _fill(self, fill: OrderFilled, now: float) -> None:
        self.fills += 1
        price = fill.price_ticks * self._tick
        signed = fill.qty if fill.side is _BUY else -fill.qty
        self.portfolio.apply_fill(self.symbol, signed, price, fill.fee)
        if self.on_fill is not None:
            self.on_fill(fill, price, signed, self._position.mark, now)
        if self.journal is not None:
            pos = self.portfolio.position(self.symbol).snapshot()
            self.journal.record_fill(self.symbol, fill, price, pos, fill.ts)

    def _record(self, order: Order, kind: str, ts: float, detail: str = "") -> None:
        if self.journal is not None:
            self.journal.record_order(order)
            self.journal.record_event(order.client_id, kind, ts, detail)
