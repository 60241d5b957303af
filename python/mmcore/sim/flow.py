"""The simulated market's order flow: a fair venue around a public value, with stated informed
episodes.

Each symbol has a value following a random walk whose volatility switches between a calm and a
volatile regime, with Poisson jumps. The resting liquidity tracks it: liquidity providers
rest limit orders at least ``lp_half_spread_bps`` plus an exponential distance (mean
``mean_distance_bps``) away from the value and pull, at once, any order the value has moved
through (a bid at or above it, an ask at or below it), re-posting a level when a side empties.
So every bid is below the value and every ask above it: **the book is never crossed**, and
its mid follows the value within the liquidity providers' half-spread.

Orders arrive as a Poisson process in *simulated* seconds:

- limit orders rest on their side (never marketable);
- cancels remove part or all of a level, the deepest levels first when a side is too deep;
- market orders take from the touch (one level always stays). Outside informed episodes they
  are uninformed: buy or sell with equal odds.

**Informed episodes** are stated: each is recorded (:class:`Episode`, with its start, end and
direction; :attr:`OrderFlow.episodes`) when it starts. During one the value drifts
``informed_drift_bps_per_s`` its way, market orders arrive twice as often and
``informed_share`` of them trade in its direction: the toxic flow a market maker must price in.
With the defaults about a fifth of market volume is informed.

Everything is integer ticks and lots, and deterministic for a given seed. Every event yields
the venue-neutral :class:`BookChange` / :class:`TradePrint` records the wire formats encode.
Distances are in bps of the price, so a 1-USD and a 0.1-USD tick see the same market.
"""

from __future__ import annotations

import csv
import math
import random
import zlib
from dataclasses import dataclass
from pathlib import Path

from mmcore.sim.wire.flow import BookChange, TickBook, TradePrint

__all__ = [
    "Episode",
    "FlowEvent",
    "OrderFlow",
    "SimBook",
    "SymbolSpec",
    "TimedEvent",
    "write_episodes",
]

FlowEvent = tuple[str, BookChange | TradePrint]
TimedEvent = tuple[float, str, BookChange | TradePrint]


@dataclass(frozen=True, slots=True)
class SymbolSpec:
    """One simulated instrument. Volatilities are per square-root simulated second, in bps."""

    symbol: str
    price: float
    tick_decimals: int = 2
    lot_decimals: int = 3
    events_per_s: float = 60.0
    calm_vol_bps: float = 1.0
    volatile_vol_bps: float = 4.0
    regime_switch_per_s: float = 1 / 20  # calm <-> volatile
    jumps_per_s: float = 1 / 40
    jump_bps: float = 8.0
    informed_per_s: float = 1 / 25
    informed_duration_s: float = 4.0
    informed_drift_bps_per_s: float = 3.0
    informed_share: float = 0.8
    mean_limit_lots: float = 200.0
    mean_market_lots: float = 60.0
    lp_half_spread_bps: float = 2.0
    mean_distance_bps: float = 2.0
    market_share: float = 0.15
    cancel_share: float = 0.30
    max_levels: int = 60

    def __post_init__(self) -> None:
        if not (self.symbol and self.symbol.isalnum()):
            raise ValueError(f"sim symbol must be alphanumeric, got {self.symbol!r}")
        if not (self.price > 0 and self.events_per_s > 0):
            raise ValueError(f"{self.symbol}: price and events_per_s must be positive")
        if self.market_share + self.cancel_share >= 1:
            raise ValueError(f"{self.symbol}: market_share + cancel_share must be below 1")
        if not (self.lp_half_spread_bps > 0 and self.mean_distance_bps > 0):
            raise ValueError(
                f"{self.symbol}: lp_half_spread_bps and mean_distance_bps must be positive"
            )
        if not 0 <= self.informed_share <= 1:
            raise ValueError(f"{self.symbol}: informed_share must be in [0, 1]")

    @property
    def tick_size(self) -> float:
        """Price increment."""
        return 10.0**-self.tick_decimals

    @property
    def lot_size(self) -> float:
        """Size increment."""
        return 10.0**-self.lot_decimals


@dataclass(frozen=True, slots=True)
class Episode:
    """An informed-flow episode: simulated seconds ``start`` to ``end``, value drifting up
    (``direction`` +1) or down (-1)."""

    symbol: str
    start: float
    end: float
    direction: int


def write_episodes(path: Path, episodes: list[Episode]) -> Path:
    """Write ``episodes`` as CSV (``symbol,start_s,end_s,direction``; simulated seconds since
    the market started) to ``path``; returns it."""
    with path.open("w", newline="") as out:
        w = csv.writer(out)
        w.writerow(("symbol", "start_s", "end_s", "direction"))
        for e in episodes:
            w.writerow((e.symbol, f"{e.start:.3f}", f"{e.end:.3f}", e.direction))
    return path


class SimBook(TickBook):
    """The true L2 book of one symbol: price ticks → resting lots per side.

    Offers the read side the wire-format servers use for snapshots (:meth:`levels`).
    """

    def __init__(self, spec: SymbolSpec) -> None:
        super().__init__(spec.symbol, spec.tick_decimals, spec.lot_decimals)
        self.spec = spec


class _SymbolFlow:
    """The value, regime, episodes and order arrivals of one symbol."""

    def __init__(self, spec: SymbolSpec, seed: int) -> None:
        self.spec = spec
        self.book = SimBook(spec)
        # zlib.crc32, not hash(): str hashes are salted per process.
        self.rng = random.Random(seed * 1_000_003 + zlib.crc32(spec.symbol.encode()))
        self.latent = spec.price * 10**spec.tick_decimals  # the value in ticks, as a float
        self.volatile = False
        self.informed_until = -1.0
        self.informed_dir = 0
        self.episodes: list[Episode] = []
        self.trade_id = 0
        self.t = 0.0
        self.next_at = 0.0
        self._seed_book()

    def _ticks(self, bps: float) -> float:
        """``bps`` of the value, in ticks."""
        return self.latent * bps * 1e-4

    def _seed_book(self) -> None:
        inside = self._ticks(self.spec.lp_half_spread_bps)
        bid, ask = math.floor(self.latent - inside), math.ceil(self.latent + inside)
        for i in range(self.spec.max_levels // 2):
            self.book.bids[bid - i] = self._lots(self.spec.mean_limit_lots)
            self.book.asks[ask + i] = self._lots(self.spec.mean_limit_lots)

    def _lots(self, mean: float) -> int:
        return max(1, int(self.rng.expovariate(1 / mean)) + 1)

    def _evolve(self, dt: float) -> None:
        """Move the value over ``dt`` simulated seconds; switch regime and episodes."""
        spec, rng = self.spec, self.rng
        if rng.random() < spec.regime_switch_per_s * dt:
            self.volatile = not self.volatile
        vol = spec.volatile_vol_bps if self.volatile else spec.calm_vol_bps
        step_bps = vol * math.sqrt(dt) * rng.gauss(0.0, 1.0)
        if rng.random() < spec.jumps_per_s * dt:
            step_bps += rng.choice((-1, 1)) * spec.jump_bps * rng.uniform(0.5, 1.5)
        if self.t >= self.informed_until and rng.random() < spec.informed_per_s * dt:
            self.informed_until = self.t + spec.informed_duration_s * rng.uniform(0.5, 1.5)
            self.informed_dir = rng.choice((-1, 1))
            self.episodes.append(
                Episode(spec.symbol, self.t, self.informed_until, self.informed_dir)
            )
        if self.t < self.informed_until:
            step_bps += self.informed_dir * spec.informed_drift_bps_per_s * dt
        self.latent *= 1 + step_bps * 1e-4

    @property
    def informed(self) -> bool:
        """Inside an informed-flow episode."""
        return self.t < self.informed_until

    def event(self) -> list[BookChange | TradePrint]:
        """One order arrival at the current time (after the liquidity providers have pulled
        what the value moved through): what it printed and how the book changed."""
        spec, rng = self.spec, self.rng
        out = self._pull_stale()
        u = rng.random()
        if u < spec.market_share * (2 if self.informed else 1):
            if self.informed and rng.random() < spec.informed_share:
                buy = self.informed_dir > 0
            else:
                buy = rng.random() < 0.5
            out += self._take(buy, self._lots(spec.mean_market_lots))
        elif u < spec.market_share + spec.cancel_share:
            out += self._cancel()
        else:
            out += self._limit()
        return out

    def _pull_stale(self) -> list[BookChange | TradePrint]:
        """Pull every bid at or above the value and every ask at or below it; re-post a level
        ``lp_half_spread_bps`` from the value on a side left empty."""
        book, value = self.book, self.latent
        inside = self._ticks(self.spec.lp_half_spread_bps)
        changes: tuple[list[tuple[str, str]], list[tuple[str, str]]] = ([], [])
        for side, stale, fresh, out in (
            (book.bids, lambda p: p >= value, math.floor(value - inside), changes[0]),
            (book.asks, lambda p: p <= value, math.ceil(value + inside), changes[1]),
        ):
            for price in [p for p in side if stale(p)]:
                del side[price]
                out.append((book.price(price), book.size(0)))
            if not side:
                side[fresh] = self._lots(self.spec.mean_limit_lots)
                out.append((book.price(fresh), book.size(side[fresh])))
        if changes[0] or changes[1]:
            return [BookChange(*changes)]
        return []

    def _limit(self) -> list[BookChange | TradePrint]:
        rng, book = self.rng, self.book
        buy = rng.random() < 0.5
        away = self._ticks(self.spec.lp_half_spread_bps) + rng.expovariate(
            1 / self._ticks(self.spec.mean_distance_bps)
        )
        # strictly on its side of the value: never marketable, never crossing
        price = math.floor(self.latent - away) if buy else math.ceil(self.latent + away)
        side = book.bids if buy else book.asks
        side[price] = side.get(price, 0) + self._lots(self.spec.mean_limit_lots)
        change = [(book.price(price), book.size(side[price]))]
        return [BookChange(change, []) if buy else BookChange([], change)]

    def _cancel(self) -> list[BookChange | TradePrint]:
        rng, book = self.rng, self.book
        buy = rng.random() < 0.5
        side = book.bids if buy else book.asks
        if len(side) <= 1:
            return []
        if len(side) > self.spec.max_levels:
            price = min(side) if buy else max(side)  # the deepest level goes
            left = 0
        else:
            price = rng.choice(list(side))
            left = 0 if rng.random() < 0.4 else side[price] // 2
        if left:
            side[price] = left
        else:
            del side[price]
        change = [(book.price(price), book.size(left))]
        return [BookChange(change, []) if buy else BookChange([], change)]

    def _take(self, buy: bool, lots: int) -> list[BookChange | TradePrint]:
        """A market order of up to ``lots`` against the opposite side, best price first (one
        level always stays): the prints, then the book change."""
        book = self.book
        side = book.asks if buy else book.bids
        prints: list[BookChange | TradePrint] = []
        touched: list[tuple[str, str]] = []
        want = lots
        while want > 0 and len(side) > 1:
            price = min(side) if buy else max(side)
            qty = min(want, side[price])
            want -= qty
            side[price] -= qty
            self.trade_id += 1
            prints.append(TradePrint(self.trade_id, book.price(price), book.size(qty), buy))
            if side[price] == 0:
                del side[price]
            touched.append((book.price(price), book.size(side.get(price, 0))))
        if touched:
            prints.append(BookChange([], touched) if buy else BookChange(touched, []))
        return prints


class OrderFlow:
    """Order flow of several symbols in simulated time; :meth:`advance` returns its events."""

    def __init__(self, specs: list[SymbolSpec], seed: int = 1) -> None:
        if not specs:
            raise ValueError("the simulated market needs at least one symbol")
        names = [s.symbol for s in specs]
        if len(set(names)) != len(names):
            raise ValueError(f"sim symbols must be unique, got {names}")
        self.seed = seed
        self.time = 0.0
        self.events = 0
        self._flows = {s.symbol: _SymbolFlow(s, seed) for s in specs}
        for flow in self._flows.values():
            flow.next_at = flow.rng.expovariate(flow.spec.events_per_s)

    @property
    def episodes(self) -> list[Episode]:
        """Every informed episode started so far, in start order across symbols."""
        return sorted((e for f in self._flows.values() for e in f.episodes), key=lambda e: e.start)

    @property
    def books(self) -> dict[str, SimBook]:
        """The true book of every symbol."""
        return {sym: f.book for sym, f in self._flows.items()}

    def latent(self, symbol: str) -> float:
        """The value of ``symbol`` (in price units)."""
        flow = self._flows[symbol]
        return flow.latent * flow.spec.tick_size

    def regime(self, symbol: str) -> str:
        """``calm``, ``volatile`` and/or ``informed`` for ``symbol`` right now."""
        flow = self._flows[symbol]
        parts = ["volatile" if flow.volatile else "calm"]
        if flow.informed:
            parts.append("informed")
        return "+".join(parts)

    def advance(self, dt: float) -> list[FlowEvent]:
        """Every event in the next ``dt`` simulated seconds, in time order across symbols."""
        return [(sym, item) for _, sym, item in self.advance_timed(dt)]

    def advance_timed(self, dt: float) -> list[TimedEvent]:
        """:meth:`advance` with each event's simulated time: ``(time_s, symbol, event)``."""
        end = self.time + dt
        timed: list[tuple[float, str, BookChange | TradePrint]] = []
        for sym, flow in self._flows.items():
            rate = flow.spec.events_per_s
            while flow.next_at <= end:
                flow._evolve(flow.next_at - flow.t)
                flow.t = flow.next_at
                timed.extend((flow.t, sym, item) for item in flow.event())
                flow.next_at += flow.rng.expovariate(rate)
                self.events += 1
        self.time = end
        timed.sort(key=lambda e: e[0])
        return timed
