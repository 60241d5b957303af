"""``run --live``: the configured symbols traded on the venues themselves through ccxt.

:func:`plan_live` loads every venue's keys (refusing to go on without them) and
:func:`describe` says what will trade, with which limits and sizes; :func:`run_live` starts one
:class:`~mmcore.execution.live.LiveSession` per venue (start-up reconciliation included), trades
through :func:`mmcore.runner.run_trading` on the sessions' venues, and on every ending cancels
every open order at each venue before the journal closes. Operator controls are the signals of
:mod:`mmcore.control`; a venue's ban halts every symbol.
"""

from __future__ import annotations

import asyncio
import dataclasses
import gc
import logging
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

from mmcore import control
from mmcore.execution.live.config import LiveConfig
from mmcore.execution.live.exchange import make_exchange
from mmcore.execution.live.keys import Credentials, load_credentials
from mmcore.execution.live.profile import VenueProfile, resolve
from mmcore.execution.live.session import LiveSession, load_positions
from mmcore.feeds import Feed, FeedConfig
from mmcore.journal import Journal
from mmcore.llm.config import LLMConfig
from mmcore.runner import RunOptions, RunResult, run_trading
from mmcore.trader import SymbolSetup, Trader

__all__ = ["LivePlan", "describe", "plan_live", "run_live"]

log = logging.getLogger("mmcore.live")


@dataclass(frozen=True)
class LivePlan:
    """What a live run trades: per venue its symbol setups, keys and profile (how its orders
    are sent); testnet or not."""

    setups: dict[str, list[SymbolSetup]]
    credentials: dict[str, Credentials]
    testnet: bool
    live: LiveConfig
    profiles: dict[str, VenueProfile]

    def __repr__(self) -> str:  # keys never shown, even redacted ones
        return f"LivePlan(venues={sorted(self.setups)}, testnet={self.testnet})"


def plan_live(
    setups: list[SymbolSetup],
    live: LiveConfig,
    *,
    testnet: bool,
    key_file: Path | None = None,
    environ: Mapping[str, str] | None = None,
) -> LivePlan:
    """Group the setups by venue and load each venue's keys (``KeysError`` names what is
    missing). Each order desk gets a client id prefix unique to this run (``mm`` and the
    start time in base 36), so no id of an earlier run is ever reused at the venue. A venue's
    orders go where ``live.order_venue`` says, else to the venue of its name; one that is
    neither a preset nor a ccxt exchange raises ``ValueError`` naming the field."""
    token = _base36(int(time.time()))
    by_venue: dict[str, list[SymbolSetup]] = {}
    profiles: dict[str, VenueProfile] = {}
    for venue in live.order_venue:
        if venue not in {s.venue for s in setups}:
            raise ValueError(f'live.order_venue."{venue}": no symbol trades on {venue}')
    for i, s in enumerate(setups):
        if s.venue not in profiles:
            spec = live.order_venue.get(s.venue)
            where = f"symbols[{i}].venue" if spec is None else f'live.order_venue."{s.venue}"'
            profiles[s.venue] = resolve(s.venue if spec is None else spec, where)
        execution = dataclasses.replace(s.execution, client_id_prefix=f"mm{token}")
        by_venue.setdefault(s.venue, []).append(dataclasses.replace(s, execution=execution))
    creds = {v: load_credentials(v, key_file, environ) for v in by_venue}
    return LivePlan(by_venue, creds, testnet, live, profiles)


def describe(plan: LivePlan) -> str:
    """The summary printed before a live run: venues, symbols, limits and sizes."""
    mode = "TESTNET" if plan.testnet else "REAL MONEY"
    lines = [f"mmcore live trading ({mode}):"]
    for venue, setups in plan.setups.items():
        lines.append(
            f"  venue {venue}: {plan.profiles[venue].describe()}, "
            f"keys from {plan.credentials[venue].source}"
        )
        for s in setups:
            q, r = s.quote, s.risk
            lines.append(
                f"    {s.symbol}: order size {q.base_size} x {q.levels} levels, tick {q.tick_size}"
                f" lot {q.lot_size}; max position {r.max_position}, max notional "
                f"{r.max_notional}, max drawdown {r.max_drawdown}, session loss "
                f"{r.session_loss_limit}, orders/s {r.max_orders_per_s}, kill action "
                f"{r.kill_action} (flatten at most {r.flatten_max_bps} bps through the touch)"
            )
    lv = plan.live
    lines.append(
        f"  foreign orders at start: {lv.foreign_orders}; dead-man switch "
        f"{lv.deadman_s:g}s; receive window {lv.recv_window_ms} ms"
    )
    if lv.spot_baseline:
        held = ", ".join(f"{a} {v:g}" for a, v in sorted(lv.spot_baseline.items()))
        lines.append(f"  spot positions counted from the baseline: {held}")
    if lv.fee_prices:
        prices = ", ".join(f"{a} {v:g}" for a, v in sorted(lv.fee_prices.items()))
        lines.append(f"  fees in a third asset valued at: {prices}")
    lines.append(
        "  operator controls: kill -USR1 <pid> halts, -USR2 flattens, -HUP resumes; "
        "dashboard keys h halt, r resume, f flatten (F or y confirms); "
        "Ctrl-C stops (every order cancelled)"
    )
    return "\n".join(lines)


def _base36(n: int) -> str:
    digits = "0123456789abcdefghijklmnopqrstuvwxyz"
    out = ""
    while n:
        n, r = divmod(n, 36)
        out = digits[r] + out
    return out or "0"


async def run_live(
    plan: LivePlan,
    feeds: list[FeedConfig],
    llm: LLMConfig,
    options: RunOptions,
    *,
    stream: TextIO | None = None,
    exchanges: Mapping[str, object] | None = None,
) -> RunResult:
    """Start the sessions, trade, and cancel everything at the end (see the module
    docstring). ``exchanges``: ccxt clients per venue to use instead of building them (tests
    point them at a fake venue)."""
    out = options.out_dir
    out.mkdir(parents=True, exist_ok=True)
    journal = Journal(out / "journal.sqlite")
    sessions: dict[str, LiveSession] = {}
    try:
        for venue, setups in plan.setups.items():
            sessions[venue] = await _start_session(plan, venue, setups, journal, exchanges)
    except BaseException:
        for session in sessions.values():
            await session.close()
        journal.close()
        raise
    venues = {s.symbol: sessions[v].venue(s.symbol) for v, ss in plan.setups.items() for s in ss}
    setups = [s for ss in plan.setups.values() for s in ss]
    removers = []

    async def on_trader(trader: Trader) -> None:
        for session in sessions.values():
            session.on_halt = lambda _reason: control.halt(trader)  # the session logs why
            for venue in session.venues.values():
                venue.reference = _mid_of(trader, venue.symbol)
            load_positions(trader.portfolio, session.start_report)
        removers.append(control.install_signals(trader))
        # what start-up built (modules, ccxt's markets, the books, the journal) lives for the
        # whole run: out of the collector's sight, its full passes no longer walk it while an
        # order is on the wire (undone when the run ends)
        gc.collect()
        gc.freeze()

    async def on_shutdown(trader: Trader) -> None:
        for remove in removers:
            remove()
        await _cancel_everything(trader, sessions)

    try:
        return await run_trading(
            [Feed(f) for f in feeds],
            setups,
            llm,
            options,
            stream=stream,
            journal=journal,
            venues=venues,  # type: ignore[arg-type]
            on_trader=on_trader,
            on_shutdown=on_shutdown,
        )
    finally:
        gc.unfreeze()
        for session in sessions.values():
            await session.close()


async def _start_session(
    plan: LivePlan,
    venue: str,
    setups: list[SymbolSetup],
    journal: Journal,
    exchanges: Mapping[str, object] | None,
) -> LiveSession:
    p = plan.profiles[venue]
    creds = plan.credentials[venue]
    exchange = (exchanges or {}).get(venue) or make_exchange(p, creds, testnet=plan.testnet)
    session = LiveSession(
        exchange,
        venue,
        dataclasses.replace(plan.live, market_type=p.market_type),
        journal=journal,
        credentials=creds,
        own_prefix="mm",
        profile=p,
    )
    try:
        session.start_report = await session.start([s.symbol for s in setups], cancel_own=True)
        for s in setups:
            rules = session.venue(s.symbol).rules
            _same_grid(s, float(rules.tick), float(rules.lot))
    except BaseException:
        await session.close()
        raise
    return session


def _same_grid(s: SymbolSetup, tick: float, lot: float) -> None:
    """The engine counts in the venue's ticks and lots: a config that differs is refused."""
    if s.quote.tick_size != tick:
        raise ValueError(
            f"symbols[{s.symbol}].quote.tick_size: {s.quote.tick_size} but {s.venue} "
            f"trades {s.symbol} in ticks of {tick}"
        )
    if s.risk.lot_size != lot:
        raise ValueError(
            f"symbols[{s.symbol}].quote.lot_size: {s.risk.lot_size} but {s.venue} trades "
            f"{s.symbol} in lots of {lot}"
        )


def _mid_of(trader: Trader, symbol: str):
    """The engine's book mid: the reference of the venue's price bands."""
    engine = trader.engines[symbol]

    def mid() -> float:
        bid, ask = engine.book.best_bid(), engine.book.best_ask()
        if bid is None or ask is None:
            return float("nan")
        return (bid[0] + ask[0]) / 2

    return mid


async def _cancel_everything(trader: Trader, sessions: Mapping[str, LiveSession]) -> None:
    """Every open order at every venue cancelled (ours and, per ``foreign_orders``, adopted
    ones too), the outcomes handed to the engines and journalled."""
    now = time.monotonic()
    for session in sessions.values():
        for venue in session.venues.values():
            venue.cancel_all(venue.symbol, now)
    for session in sessions.values():
        await session.settle(timeout_s=10.0)
    await asyncio.sleep(0.2)  # the streams' last frames
    for engine in trader.engines.values():
        engine.take_venue_events(time.monotonic())
