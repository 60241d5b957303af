"""The backtest loop: recorded messages → the paper run's books, sync rules and engines.

Each symbol's engine is :func:`mmcore.trader.build_engine`'s (the paper run's quote model,
risk manager, order desk and paper venue); time is the data's local receive time, in seconds
since the first message (``wall_clock_offset_s`` makes it Unix time again, so the risk
manager's exchange-time staleness and feed-lag guards see what they saw live). The paper
venue sees each market event when ``[backtest] feed_latency`` says (:mod:`mmcore.backtest.
latency`): by default at its own exchange time, the engines' ``exchange_clock_offset_s``
removing the clock offset measured from the data.

What a live :class:`~mmcore.feeds.Feed` does is done by :class:`ReplayFeed` with the same
pieces: a :class:`~mmcore.feeds.session.BookSession` (the one sync state machine: buffering
before a snapshot, gap → resync, freshness) applies every frame first, as the probe; the
engines' own books get the same payloads through :meth:`mmcore.engine.Engine.replay`, in
batches of the frames between two control points (a timer tick, a snapshot, a reconnect), so their
states never differ. A REST snapshot in the data is applied only when the book is waiting for
one (as live fetches one only then); after a gap the feed is unsafe until the next snapshot in
the data, and the next timer tick tells the engine so (it cancels and halts), as the live
trader's timer does. Every ``timer_s`` the engines get the trader's timer call
(``on_timer`` on a fresh book, ``feed_unsafe`` otherwise) and every ``sample_s`` the run
report's :class:`~mmcore.ui.recorder.Recorder` takes a sample. At the end of the data the
engines shut down (orders cancelled) as a paper run does.

Not replayed: the advisors (the engines quote the model alone) and a resync on a crossed book
(there is no REST to ask; the risk manager halts quoting while the book is crossed).
"""

from __future__ import annotations

import logging
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from rich.console import Console

from mmcore import ApplyStatus, BookRouter, DecodeError, OrderBook
from mmcore.backtest.config import BacktestConfig
from mmcore.backtest.data import DataError, Message, Session
from mmcore.backtest.latency import FeedDelays, LatencyFit, fit_latency_file, measure_feed_delays
from mmcore.engine import Engine
from mmcore.execution import OrderFilled, Trade
from mmcore.feeds import FeedConfig
from mmcore.feeds.health import BookUpdates, FeedMetrics, SymbolHealth
from mmcore.feeds.protocols import make_protocol
from mmcore.feeds.session import BookSession
from mmcore.feeds.trades import parse_trades
from mmcore.journal import Journal
from mmcore.portfolio import Portfolio
from mmcore.trader import SymbolSetup, TraderStats, build_engine, working_quotes
from mmcore.ui.recorder import Recorder

__all__ = ["BacktestRun", "ReplayFeed", "ReplayTrader", "run_backtest"]

log = logging.getLogger("mmcore.backtest")

_PROGRESS_EVERY = 4096  # messages between progress refreshes
_TRADE = ApplyStatus.TRADE


class ReplayFeed:
    """One venue's books in simulated time: the read side of a live feed (``book``,
    ``health``, ``metrics``) over a :class:`BookSession` (the sync state machine) and the
    engines' books, which receive the same payloads."""

    def __init__(self, config: FeedConfig, symbols: tuple[str, ...]) -> None:
        self.config = config
        self.symbols = symbols
        self.metrics = FeedMetrics()
        self.protocol = make_protocol(config.venue, symbols)
        self.now_ns = 0
        self.epoch = 0
        self.session = self._new_session()
        self.books = self._new_router()

    def _new_router(self) -> BookRouter:
        return BookRouter(
            self.config.venue,
            list(self.symbols),
            max_buffer=self.config.max_buffer,
            vpin_bucket_volume=dict(self.config.vpin_bucket_volume),
            vpin_calibration_trades=self.config.vpin_calibration_trades,
        )

    def _new_session(self) -> BookSession:
        self.epoch += 1
        cfg = self.config
        return BookSession(
            cfg.venue,
            self.symbols,
            self.epoch,
            metrics=self.metrics,
            updates=BookUpdates(self.metrics),
            max_buffer=cfg.max_buffer,
            latency_sample_every=1 << 30,  # its samples read the wall clock: meaningless here
            vpin_bucket_volume=cfg.vpin_bucket_volume,
            vpin_calibration_trades=cfg.vpin_calibration_trades,
            on_book=lambda _sym, _ns: True,  # the engines quote from their replay batches
        )

    def reconnect(self) -> None:
        """A new connection: fresh, unsynced books for the session and the engines."""
        self.session = self._new_session()
        self.books = self._new_router()

    def book(self, symbol: str) -> OrderBook:
        """The engines' book of ``symbol``."""
        return self.books.book(symbol)

    def health(self, symbol: str) -> SymbolHealth:
        """The symbol's health at the simulated ``now_ns``, as a live feed computes it."""
        return self.session.health(symbol, self.now_ns, self.config.quote_stale_after_s)

    def safe_to_quote(self, symbol: str) -> bool:
        """Synced and fresh at the simulated time."""
        return self.health(symbol).safe_to_quote

    def needs_snapshot(self, symbol: str) -> bool:
        """The book waits for a REST snapshot (never synced, or resyncing after a gap)."""
        s = self.session
        return symbol in s.resyncing or not s.is_synced(symbol)


class ReplayTrader:
    """What the run recorder and report read from a trader, for the backtest's engines."""

    def __init__(
        self, feed: ReplayFeed, setups: list[SymbolSetup], engines: dict[str, Engine], pf: Portfolio
    ) -> None:
        self.feed = feed
        self.feeds = {feed.config.venue: feed}
        self.setups = {s.symbol: s for s in setups}
        self.engines = engines
        self.portfolio = pf
        self.stats = TraderStats()
        self.advisors = None
        self.started_at = 0.0  # engine time starts at the first message
        self._ticks = {s.symbol: s.quote.tick_size for s in setups}

    def feed_of(self, symbol: str) -> ReplayFeed:
        """The feed of ``symbol`` (one venue per backtest)."""
        return self.feed

    def working_quotes(self, symbol: str) -> tuple[float, float]:
        """Our best working bid and ask prices (NaN for a side without an order)."""
        return working_quotes(self.engines[symbol], self._ticks[symbol])


@dataclass
class BacktestRun:
    """A finished replay: the trader view, its recorder, and what the data was."""

    trader: ReplayTrader
    recorder: Recorder
    setups: list[SymbolSetup]
    start_ns: int  # local receive time of the first message
    end_s: float  # engine time of the last message
    messages: int
    book_events: int
    trades: int
    skipped: int
    elapsed_s: float  # wall-clock seconds of the replay
    cpu_s: float  # CPU seconds of the replay (on a shared machine, steadier than elapsed_s)
    clock_backsteps: int  # messages stamped earlier than the one before (replayed at its time)
    feed_delays: FeedDelays | None  # measured from the data (None: feed_latency = "config")
    latency_fit: LatencyFit | None
    journal: Path | None
    fill_client_ids: list[str]  # the order of each of ``recorder.fills``


class _Progress:
    """A rich progress bar on stderr (or ``console``): events, simulated time, events/s; off
    when stderr is not a terminal."""

    def __init__(self, enabled: bool, session: Session, console: Console | None = None) -> None:
        self.session = session
        self.bar = None
        if enabled and (console is not None or sys.stderr.isatty()):
            from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

            self.bar = Progress(
                TextColumn("backtest"),
                BarColumn(),
                TextColumn("{task.percentage:>5.1f}% {task.description}"),
                TimeElapsedColumn(),
                console=console or Console(stderr=True),
                transient=False,
            )
            self.task = self.bar.add_task("", total=max(session.total_bytes, 1))
            self.bar.start()

    def update(self, messages: int, sim_s: float, elapsed_s: float) -> None:
        if self.bar is None:
            return
        rate = messages / elapsed_s if elapsed_s > 0 else 0.0
        desc = f"{messages:,} events · sim {sim_s:,.1f} s · {rate:,.0f} events/s"
        self.bar.update(self.task, completed=self.session.consumed_bytes, description=desc)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.update(self.task, completed=self.session.total_bytes)
            self.bar.stop()


def _with_client_id(
    on_fill: Callable[[OrderFilled, float, float, float, float], None] | None, into: list[str]
) -> Callable[[OrderFilled, float, float, float, float], None]:
    """``on_fill`` (the recorder's) that also keeps each fill's client order id."""
    assert on_fill is not None

    def hook(fill: OrderFilled, price: float, signed: float, mid: float, now: float) -> None:
        into.append(fill.client_id)
        on_fill(fill, price, signed, mid, now)

    return hook


def _frames(session: Session) -> Iterator[tuple[int, bytes]]:
    return ((m.ts_ns, m.payload) for m in session.messages() if not m.snapshot and m.payload)


def run_backtest(
    cfg: BacktestConfig, session: Session, *, out: Path | None = None, progress: bool = False
) -> BacktestRun:
    """Replay ``session`` through the engines of ``cfg``'s symbols on its venue.

    With ``out`` the orders and fills are journaled to ``out/journal.sqlite`` (the run
    report reads it). Deterministic: the same data and config give the same fills.
    """
    bt = cfg.backtest
    feed_cfg = next((f for f in cfg.run.feeds if f.venue == session.venue), None)
    if feed_cfg is None:
        raise DataError(f"the data is from {session.venue}; the config has no [[venues]] for it")
    delays = measure_feed_delays(_frames(session)) if bt.feed_latency != "config" else None
    fit = fit_latency_file(bt.latency_file) if bt.latency_file else None
    setups = [
        s
        # per message, the median is the lag of an event with no exchange time of its own
        for s in cfg.setups(None if delays is None else delays.median_s, fit)
        if s.venue == session.venue and s.symbol in session.symbols
    ]
    if not setups:
        raise DataError(
            f"the data covers {', '.join(session.symbols)} on {session.venue}; "
            "the config trades none of them"
        )
    portfolio = Portfolio()
    journal = Journal(out / "journal.sqlite") if out is not None else None
    feed = ReplayFeed(feed_cfg, session.symbols)
    engines = {s.symbol: build_engine(s, portfolio, journal=journal) for s in setups}
    for sym, engine in engines.items():
        engine.book = feed.book(sym)
        if delays is not None and bt.feed_latency == "per_message":
            engine.exchange_clock_offset_s = delays.clock_offset_s
    trader = ReplayTrader(feed, setups, engines, portfolio)
    recorder = Recorder(trader)  # type: ignore[arg-type]  # the trader's read side
    client_ids: list[str] = []  # the order of each recorded fill
    for engine in engines.values():
        engine.on_fill = _with_client_id(engine.on_fill, client_ids)
    try:
        counts = _Loop(trader, recorder, bt.timer_s, bt.sample_s).run(
            session.messages(), _Progress(progress and bt.progress, session)
        )
    finally:
        if journal is not None:
            journal.close()
    return BacktestRun(
        trader=trader,
        recorder=recorder,
        setups=setups,
        feed_delays=delays,
        latency_fit=fit,
        journal=None if out is None else out / "journal.sqlite",
        fill_client_ids=client_ids,
        **counts,
    )


class _Loop:
    """One pass over the messages (module docstring)."""

    def __init__(
        self, trader: ReplayTrader, recorder: Recorder, timer_s: float, sample_s: float
    ) -> None:
        self.trader = trader
        self.feed = trader.feed
        self.engines = trader.engines
        self.recorder = recorder
        self.timer_s = timer_s
        self.sample_every = max(1, round(sample_s / timer_s))
        self.pending: dict[str, list[tuple[float, bytes | Trade]]] = {s: [] for s in self.engines}
        self.inv_tick = {s: 1.0 / x.quote.tick_size for s, x in trader.setups.items()}
        self.t0 = 0
        self.now = 0.0
        self.book_events = self.trades = self.skipped = 0
        self.backsteps = 0  # messages stamped before one already replayed (held at its time)

    def flush(self, only: str | None = None) -> None:
        """Replay the pending payloads and prints (of ``only``, or every symbol)."""
        for sym, items in self.pending.items():
            if items and (only is None or sym == only):
                r = self.engines[sym].replay(items)
                self.book_events += r.book_events
                self.trades += r.trades
                self.skipped += r.skipped
                items.clear()

    def tick(self, k: int) -> None:
        """Timer tick ``k`` (at ``k * timer_s``): the trader's timer, then a report sample."""
        t = k * self.timer_s
        self.feed.now_ns = self.t0 + round(t * 1e9)
        for sym, engine in self.engines.items():
            if self.feed.safe_to_quote(sym):
                engine.on_timer(t)
            else:
                engine.feed_unsafe(t)
        if k % self.sample_every == 0:
            self.recorder.sample(t)

    def run(self, messages: Iterator[Message], progress: _Progress) -> dict[str, float | int]:
        feed, engines, pending = self.feed, self.engines, self.pending
        started = time.perf_counter()
        cpu = time.process_time()
        n = 0
        k = 0  # timer ticks done
        t0: int | None = None
        timer_s = self.timer_s
        next_tick = timer_s
        venue = feed.config.venue
        control = feed.protocol.is_control
        last_ns = 0
        for msg in messages:
            if t0 is None:
                t0 = self.t0 = last_ns = msg.ts_ns
                for engine in engines.values():
                    engine.wall_clock_offset_s = t0 / 1e9
            if msg.ts_ns < last_ns:  # overlapping files: simulated time never runs back
                self.backsteps += 1
            else:
                last_ns = msg.ts_ns
            now = self.now = (last_ns - t0) / 1e9
            if now >= next_tick:
                self.flush()
                while now >= next_tick:
                    k += 1
                    self.tick(k)
                    next_tick = (k + 1) * timer_s
                self.now = now
            feed.now_ns = last_ns
            n += 1
            if n % _PROGRESS_EVERY == 0:
                progress.update(n, now, time.perf_counter() - started)
            if msg.reconnect:
                self._reconnect(now)
            elif msg.snapshot:
                self._snapshot(msg, now)
            else:
                session = feed.session
                try:
                    sym, st = session.router.apply(msg.payload)
                except DecodeError:
                    if not control(msg.payload):
                        feed.metrics.malformed += 1
                    continue  # the book is unchanged: the engine's book does not see it either
                if sym is not None and sym in pending:
                    items = pending[sym]
                    items.append((now, msg.payload))
                    if st == _TRADE:  # the prints, after the frame (as live)
                        inv = self.inv_tick[sym]
                        for p in parse_trades(venue, msg.payload):
                            items.append(
                                (now, Trade(round(p.price * inv), p.qty, p.buyer_aggressor))
                            )
                session.after_apply(sym, st, msg.payload, last_ns)
        self.flush()
        end = self.now
        self.feed.now_ns = (t0 or 0) + round(end * 1e9)
        for engine in engines.values():
            engine.shutdown(end)
        self.recorder.sample(end)
        elapsed = time.perf_counter() - started
        progress.update(n, end, elapsed)
        progress.close()
        return {
            "start_ns": t0 or 0,
            "end_s": end,
            "messages": n,
            "book_events": self.book_events,
            "trades": self.trades,
            "skipped": self.skipped,
            "elapsed_s": elapsed,
            "cpu_s": time.process_time() - cpu,
            "clock_backsteps": self.backsteps,
        }

    def _snapshot(self, msg: Message, now: float) -> None:
        sym = msg.symbol
        feed = self.feed
        if sym not in self.engines or not feed.needs_snapshot(sym):
            return  # live fetches a snapshot only for a book that waits for one
        self.flush(sym)
        feed.session.on_snapshot(sym, msg.payload, feed.now_ns)
        feed.books.apply_snapshot(sym, msg.payload)
        if not feed.needs_snapshot(sym):
            self.engines[sym].on_book(now)  # the synced book is quoted at once, as live

    def _reconnect(self, now: float) -> None:
        self.flush()
        feed = self.feed
        feed.reconnect()
        for sym, engine in self.engines.items():
            engine.book = feed.book(sym)
            engine.feed_unsafe(now)
