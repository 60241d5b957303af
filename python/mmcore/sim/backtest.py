"""The demo in simulated time: the sim's order flow drives the demo's engines with no wall clock.

:func:`run_backtest` builds the same engines as the live demo (:func:`mmcore.trader.build_engine`
from the same :class:`~mmcore.trader.SymbolSetup` list, the offline rules advisors on a
simulated clock) and feeds them the :class:`~mmcore.sim.flow.OrderFlow` events at their
simulated times: book changes as Binance diff payloads through a Rust :class:`OrderBook`, prints
as :class:`~mmcore.execution.Trade`, a timer every ``timer_s``, advice every ``advise_every_s``.
There are no websockets or network delays: every book change is quoted on (the live trader may
coalesce some), so figures are those of an ideal feed. A 60 s run takes well under a second of
CPU per symbol.

What it measures per symbol (:class:`SymbolResult`): net PnL (realized + unrealized - fees), the
spread captured (each fill's edge over the mid just before it), the adverse selection (each
fill's markout ``markout_s`` later: negative when the mid moved against it) and what of it fell
inside the sim's informed episodes, the inventory PnL (the mid's later moves on what was held),
fees, inventory against its limit, and kill-switch trips. Spread, adverse selection and
inventory are :mod:`mmcore.analytics.pnl`'s decomposition, as in the run report: with the fees
they add up to the net PnL.
"""

from __future__ import annotations

import asyncio
import heapq
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from mmcore._core import ApplyStatus, OrderBook
from mmcore.advisors.rules import RulesAdvisor
from mmcore.advisors.service import AdvisorService
from mmcore.analytics.pnl import MidPath, decompose
from mmcore.engine import Engine
from mmcore.execution import OrderFilled, Trade
from mmcore.llm.config import AdvisorTuning
from mmcore.portfolio import Portfolio
from mmcore.sim.flow import Episode, OrderFlow
from mmcore.sim.venue import SimListing
from mmcore.sim.wire.flow import BookChange
from mmcore.trader import SymbolSetup, advice_features, build_engine

__all__ = ["BacktestResult", "FillRecord", "SimClock", "SymbolResult", "run_backtest"]

_APPLIED = ApplyStatus.APPLIED


class SimClock:
    """Simulated seconds for the advisors: :meth:`sleep` waits until :meth:`advance_to` passes
    its wake time."""

    def __init__(self) -> None:
        self.t = 0.0
        self._waiters: list[tuple[float, int, asyncio.Future[None]]] = []
        self._seq = 0

    def now(self) -> float:
        """The simulated time in seconds."""
        return self.t

    async def sleep(self, seconds: float) -> None:
        """Wait ``seconds`` of simulated time."""
        fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._seq += 1
        heapq.heappush(self._waiters, (self.t + max(0.0, seconds), self._seq, fut))
        await fut

    def advance_to(self, t: float) -> None:
        """Move the time to ``t`` and wake every sleeper due by then."""
        self.t = t
        while self._waiters and self._waiters[0][0] <= t:
            _, _, fut = heapq.heappop(self._waiters)
            if not fut.done():
                fut.set_result(None)


@dataclass(frozen=True, slots=True)
class FillRecord:
    """One of our fills as :mod:`mmcore.analytics.pnl` reads it (side sign, size, price, fee,
    the mid just before it), and whether it happened inside an informed episode of the sim."""

    t: float
    sign: int
    qty: float
    price: float
    fee: float
    mid: float
    informed: bool


def _fill_recorder(
    symbol: str, flow: OrderFlow, into: list[FillRecord]
) -> Callable[[OrderFilled, float, float, float, float], None]:
    """An ``Engine.on_fill`` hook that keeps each fill of ``symbol`` as a :class:`FillRecord`,
    marked informed when the sim was in an informed episode then."""

    def on_fill(fill: OrderFilled, price: float, signed_qty: float, mid: float, now: float) -> None:
        informed = "informed" in flow.regime(symbol)
        sign = 1 if signed_qty >= 0 else -1
        into.append(FillRecord(now, sign, abs(signed_qty), price, fill.fee, mid, informed))

    return on_fill


@dataclass
class SymbolResult:
    """One symbol's figures over a run (money in the quote currency)."""

    symbol: str
    net_pnl: float
    spread_captured: float
    adverse_selection: float
    adverse_selection_informed: float
    fees: float
    inventory_pnl: float
    fills: int
    orders: int
    max_inventory_frac: float
    within_half_frac: float
    kill_switch_trips: int
    halted_frac: float


@dataclass
class BacktestResult:
    """Every symbol's figures and the sim's informed episodes."""

    seed: int
    duration_s: float
    symbols: dict[str, SymbolResult]
    episodes: list[Episode] = field(default_factory=list)

    @property
    def net_pnl(self) -> float:
        """Net PnL over every symbol."""
        return sum(r.net_pnl for r in self.symbols.values())

    @property
    def kill_switch_trips(self) -> int:
        """Kill-switch trips over every symbol."""
        return sum(r.kill_switch_trips for r in self.symbols.values())


class _BookFeed:
    """Writes the sim's book changes as Binance spot diff payloads into a Rust book."""

    def __init__(self, listing: SimListing, flow: OrderFlow) -> None:
        spec = listing.spec
        true_book = flow.books[spec.symbol]
        self.symbol = spec.symbol
        self.book = OrderBook(
            spec.symbol,
            "binance-spot",
            tick_size=f"{spec.tick_size:.{spec.tick_decimals}f}",
            lot_size=f"{spec.lot_size:.{spec.lot_decimals}f}",
        )
        self._u = 1_000
        snapshot = {
            "lastUpdateId": self._u,
            "bids": true_book.levels("bids"),
            "asks": true_book.levels("asks"),
        }
        if self.book.apply_snapshot(json.dumps(snapshot)) != _APPLIED:
            raise RuntimeError(f"{spec.symbol}: the sim's snapshot was not applied")

    def apply(self, change: BookChange, t: float) -> bool:
        self._u += 1
        payload = {
            "e": "depthUpdate",
            "E": int(t * 1000),
            "s": self.symbol,
            "U": self._u,
            "u": self._u,
            "b": change.bids,
            "a": change.asks,
        }
        return self.book.apply(json.dumps(payload, separators=(",", ":"))) == _APPLIED


async def _run(
    listings: Sequence[SimListing],
    setups: Sequence[SymbolSetup],
    seed: int,
    duration_s: float,
    timer_s: float,
    advise_every_s: float,
    markout_s: float,
) -> BacktestResult:
    flow = OrderFlow([x.spec for x in listings], seed)
    clock = SimClock()
    tuning = AdvisorTuning()
    advisors = AdvisorService(
        [RulesAdvisor(kind, tuning.ttl_s, clock) for kind in ("signal", "risk")],
        min_interval_s=tuning.min_interval_s,
        change_threshold=tuning.change_threshold,
        clock=clock,
    )
    portfolio = Portfolio()
    records: dict[str, list[FillRecord]] = {}
    by_symbol = {s.symbol: s for s in setups}
    feeds = {x.spec.symbol: _BookFeed(x, flow) for x in listings}
    engines: dict[str, Engine] = {}
    for sym, feed in feeds.items():
        engine = build_engine(by_symbol[sym], portfolio, advisors=advisors)
        engine.book = feed.book
        # each fill with the mark it was applied at (the hook the run report's recorder uses)
        engine.on_fill = _fill_recorder(sym, flow, records.setdefault(sym, []))
        engines[sym] = engine
    samples: dict[str, tuple[list[float], list[float]]] = {s: ([], []) for s in engines}
    inventory: dict[str, list[float]] = {s: [] for s in engines}
    halted: dict[str, int] = dict.fromkeys(engines, 0)
    trips: dict[str, int] = dict.fromkeys(engines, 0)
    killed: dict[str, bool] = dict.fromkeys(engines, False)
    ticks = {s: by_symbol[s].quote.tick_size for s in engines}
    next_advice = 0.0
    steps = round(duration_s / timer_s)
    try:
        for i in range(1, steps + 1):
            for t, sym, item in flow.advance_timed(timer_s):
                clock.t = t
                engine = engines[sym]
                if isinstance(item, BookChange):
                    if feeds[sym].apply(item, t):
                        engine.on_book(t)
                else:
                    px = round(float(item.price) / ticks[sym])
                    engine.on_trade(Trade(px, float(item.size), item.taker_buy), t)
            now = i * timer_s
            clock.advance_to(now)
            for sym, engine in engines.items():
                engine.on_timer(now)
                killed_now = engine.risk.killed_at is not None
                if killed_now and not killed[sym]:
                    trips[sym] += 1
                killed[sym] = killed_now
                halted[sym] += engine.risk.state.name == "HALTED"
                mid = engine.book.features(1).mid
                samples[sym][0].append(now)
                samples[sym][1].append(mid)
                limit = by_symbol[sym].quote.max_position
                inventory[sym].append(abs(portfolio.position(sym).qty) / limit)
            if now >= next_advice:
                next_advice = now + advise_every_s
                for sym, engine in engines.items():
                    advisors.submit(sym, advice_features(engine, by_symbol[sym].quote.max_position))
            for _ in range(4):  # let the advisor workers run on this simulated moment
                await asyncio.sleep(0)
    finally:
        await advisors.stop()
    results = {}
    for sym in engines:
        pos = portfolio.position(sym)
        fills = records[sym]
        # the one PnL decomposition (mmcore.analytics.pnl), marked to the sampled mids, the
        # fills' mids and the position's last mark
        times, mids = samples[sym]
        marks = [*((r.t, r.mid) for r in fills), *zip(times, mids, strict=True)]
        path = MidPath([*marks, (now, pos.mark)])
        parts = decompose(fills, path, markout_s)
        informed = decompose([r for r in fills if r.informed], path, markout_s)
        net = pos.net
        inv = inventory[sym]
        results[sym] = SymbolResult(
            symbol=sym,
            net_pnl=net,
            spread_captured=parts.spread,
            adverse_selection=parts.adverse,
            adverse_selection_informed=informed.adverse,
            fees=pos.fees,
            inventory_pnl=parts.inventory,
            fills=len(fills),
            orders=engines[sym].orders.placed,
            max_inventory_frac=max(inv, default=0.0),
            within_half_frac=sum(x <= 0.5 for x in inv) / max(1, len(inv)),
            kill_switch_trips=trips[sym],
            halted_frac=halted[sym] / max(1, steps),
        )
    return BacktestResult(seed, duration_s, results, list(flow.episodes))


def run_backtest(
    listings: Sequence[SimListing],
    setups: Sequence[SymbolSetup],
    *,
    seed: int = 1,
    duration_s: float = 60.0,
    timer_s: float = 0.1,
    advise_every_s: float = 1.0,
    markout_s: float = 1.0,
) -> BacktestResult:
    """Run ``setups`` on the simulated market of ``listings`` for ``duration_s`` simulated
    seconds (the live trader's timer and advice periods by default) and return the figures."""
    if duration_s <= 0 or timer_s <= 0:
        raise ValueError(f"duration_s and timer_s must be > 0, got {duration_s}, {timer_s}")
    return asyncio.run(_run(listings, setups, seed, duration_s, timer_s, advise_every_s, markout_s))


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m mmcore.sim.backtest --seeds 1 10``: the demo's figures per seed, as a table."""
    import argparse
    import statistics

    from mmcore.demo import DEMO_LISTINGS, demo_setups

    parser = argparse.ArgumentParser(description=main.__doc__)
    parser.add_argument("--seeds", type=int, nargs=2, default=(1, 10), metavar=("FIRST", "LAST"))
    parser.add_argument("--duration", type=float, default=60.0, help="simulated seconds")
    args = parser.parse_args(argv)
    print("seed  net_pnl  spread adverse(informed) fees inventory  fills  orders max|inv| half")
    nets = []
    for seed in range(args.seeds[0], args.seeds[1] + 1):
        r = run_backtest(DEMO_LISTINGS, demo_setups(), seed=seed, duration_s=args.duration)
        nets.append(r.net_pnl)
        s = list(r.symbols.values())
        total = {k: sum(getattr(x, k) for x in s) for k in vars(s[0]) if k != "symbol"}
        print(
            f"{seed:4} {r.net_pnl:+8.2f} {total['spread_captured']:+7.2f} "
            f"{total['adverse_selection']:+7.2f}({total['adverse_selection_informed']:+6.2f}) "
            f"{total['fees']:6.2f} {total['inventory_pnl']:+8.2f} {total['fills']:6} "
            f"{total['orders']:7}  {max(x.max_inventory_frac for x in s):.2f}  "
            f"{min(x.within_half_frac for x in s):.2f}  kill={r.kill_switch_trips}"
        )
    print(f"median {statistics.median(nets):+.2f} min {min(nets):+.2f} max {max(nets):+.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
