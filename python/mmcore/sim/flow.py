"""The simulated market's order flow: limit orders, cancels and market orders around a latent price.

Each symbol has a latent (true) price following a random walk whose volatility switches between
a calm and a volatile regime, with Poisson jumps and episodes of informed flow (the latent price
drifts one way and most market orders trade that way, before the book catches up: toxic flow
for a market maker). Orders arrive as a Poisson process in *simulated* seconds:

- limit orders rest a geometric number of ticks away from the latent price; one priced through
  the opposite touch trades first (a marketable limit), which is how the book follows the
  latent price;
- cancels remove part or all of a level, the deepest levels first when a side is too deep;
- market orders sweep the touch.

Everything is integer ticks and lots, and deterministic for a given seed. Every event yields
the venue-neutral :class:`BookChange` / :class:`TradePrint` records the wire formats encode.
"""

from __future__ import annotations

import math
import random
import zlib
from dataclasses import dataclass

from mmcore.sim.wire.flow import BookChange, TickBook, TradePrint

__all__ = ["FlowEvent", "OrderFlow", "SimBook", "SymbolSpec"]

FlowEvent = tuple[str, BookChange | TradePrint]


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
    mean_limit_lots: float = 200.0
    mean_market_lots: float = 60.0
    mean_distance_ticks: float = 6.0
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

    @property
    def tick_size(self) -> float:
        """Price increment."""
        return 10.0**-self.tick_decimals

    @property
    def lot_size(self) -> float:
        """Size increment."""
        return 10.0**-self.lot_decimals


class SimBook(TickBook):
    """The true L2 book of one symbol: price ticks → resting lots per side.

    Offers the read side the wire-format servers use for snapshots (:meth:`levels`).
    """

    def __init__(self, spec: SymbolSpec) -> None:
        super().__init__(spec.symbol, spec.tick_decimals, spec.lot_decimals)
        self.spec = spec


class _SymbolFlow:
    """The latent price, regime and order arrivals of one symbol."""

    def __init__(self, spec: SymbolSpec, seed: int) -> None:
        self.spec = spec
        self.book = SimBook(spec)
        # zlib.crc32, not hash(): str hashes are salted per process.
        self.rng = random.Random(seed * 1_000_003 + zlib.crc32(spec.symbol.encode()))
        self.latent = spec.price * 10**spec.tick_decimals  # in ticks, as a float
        self.volatile = False
        self.informed_until = -1.0
        self.informed_dir = 0
        self.trade_id = 0
        self.t = 0.0
        self.next_at = 0.0
        self._seed_book()

    def _seed_book(self) -> None:
        mid = round(self.latent)
        for i in range(1, self.spec.max_levels // 2 + 1):
            self.book.bids[mid - i] = self._lots(self.spec.mean_limit_lots)
            self.book.asks[mid + i] = self._lots(self.spec.mean_limit_lots)

    def _lots(self, mean: float) -> int:
        return max(1, int(self.rng.expovariate(1 / mean)) + 1)

    def _evolve(self, dt: float) -> None:
        """Move the latent price over ``dt`` simulated seconds; switch regime and episodes."""
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
        if self.t < self.informed_until:
            step_bps += self.informed_dir * spec.informed_drift_bps_per_s * dt
        self.latent *= 1 + step_bps * 1e-4

    @property
    def informed(self) -> bool:
        """Inside an informed-flow episode."""
        return self.t < self.informed_until

    def event(self) -> list[BookChange | TradePrint]:
        """One order arrival at the current time: what it printed and how the book changed."""
        spec, rng = self.spec, self.rng
        u = rng.random()
        if u < spec.market_share * (2 if self.informed else 1):
            if self.informed and rng.random() < 0.8:
                buy = self.informed_dir > 0
            else:
                buy = rng.random() < 0.5
            limit = (1 << 62) if buy else 0  # sweep as far as needed
            return self._take(buy, self._lots(spec.mean_market_lots), limit)[0]
        if u < spec.market_share + spec.cancel_share:
            return self._cancel()
        return self._limit()

    def _limit(self) -> list[BookChange | TradePrint]:
        rng, book = self.rng, self.book
        buy = rng.random() < 0.5
        distance = int(rng.expovariate(1 / self.spec.mean_distance_ticks))
        price = math.floor(self.latent) - distance if buy else math.ceil(self.latent) + distance
        lots = self._lots(self.spec.mean_limit_lots)
        out: list[BookChange | TradePrint] = []
        opposite = book.best_ask() if buy else book.best_bid()
        if opposite is not None and (price >= opposite if buy else price <= opposite):
            out, taken = self._take(buy, lots, price)
            lots -= taken
            if lots <= 0:
                return out
        side = book.bids if buy else book.asks
        side[price] = side.get(price, 0) + lots
        change = [(book.price(price), book.size(side[price]))]
        out.append(BookChange(change, []) if buy else BookChange([], change))
        return out

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

    def _take(self, buy: bool, lots: int, limit: int) -> tuple[list[BookChange | TradePrint], int]:
        """Trade up to ``lots`` against the opposite side up to ``limit`` ticks (one level
        always stays): the prints and book change, and the lots traded."""
        book = self.book
        side = book.asks if buy else book.bids
        prints: list[BookChange | TradePrint] = []
        touched: list[tuple[str, str]] = []
        want = lots
        while want > 0 and len(side) > 1:
            price = min(side) if buy else max(side)
            if (price > limit) if buy else (price < limit):
                break
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
        return prints, lots - want


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
    def books(self) -> dict[str, SimBook]:
        """The true book of every symbol."""
        return {sym: f.book for sym, f in self._flows.items()}

    def latent(self, symbol: str) -> float:
        """The latent price of ``symbol`` (in price units)."""
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
        return [(sym, item) for _, sym, item in timed]
