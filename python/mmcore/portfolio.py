"""Positions and PnL per symbol and in total, marked to the mid, held in exact integers.

Each symbol trades on a grid: its instrument's tick (price step) and lot (size step), registered
with :meth:`Portfolio.instrument` (every :class:`~mmcore.engine.Engine` registers its symbol). A
fill for a symbol never registered is refused: guessing a grid could misprice it. A position
holds only integers:

- ``lots``: the signed size in lots;
- ``cash``: the signed cash flow of every fill, in tick-lot units (a buy of ``n`` lots at ``p``
  ticks adds ``-n·p``);
- ``basis``: the signed cost of the open size in tick-lot units times :data:`BASIS_SCALE`
  (average cost: a partial close keeps the average, rounding the basis half-to-even at that
  scale; a flat position has none, a flip opens at the fill price);
- ``fee_units``: fees paid in quote currency times :data:`FEE_SCALE` (negative fees are rebates;
  each fill's fee is rounded to that scale once, then summed exactly).

Realized PnL is ``cash + basis`` (gross of fees): exact whenever the position is flat, and its
split with unrealized PnL while a position is open rounds only the basis. The float figures
(``qty``, ``avg_cost``, ``realized``, ``unrealized``, ``net``, ``fees``) are derived from the
integers, never accumulated; ``net`` = realized + unrealized - fees.

Fails closed: a fill whose size or fee is not finite, whose price is not finite and > 0, whose
size is not a whole number of lots or whose price is off the tick grid (beyond float rounding:
more than 1e-9 relative), and a mark that is ±inf or negative, raise ``ValueError`` naming the
argument before anything changes (counted in :attr:`Portfolio.refused`). A NaN mark is no mark
(the last one stays).
"""

from __future__ import annotations

import math
from decimal import Decimal
from typing import NamedTuple

from mmcore._core import PositionCore

__all__ = [
    "BASIS_SCALE",
    "FEE_SCALE",
    "ExactPosition",
    "Grid",
    "Portfolio",
    "Position",
    "PositionSnapshot",
]

#: The cost basis is held in tick-lot units times this (its rounding on a partial close).
BASIS_SCALE = 10**9
#: Fees are held in quote-currency units times this (1e-12 of the quote currency).
FEE_SCALE = 10**12
#: How far (relative) a size or price may sit off its grid and still be taken as on it.
GRID_TOLERANCE = 1e-9


class ExactPosition(NamedTuple):
    """The integers of a position and the grid they count in (what a restore needs)."""

    lots: int
    cash: int
    basis: int
    fee_units: int
    tick_size: float
    lot_size: float


class PositionSnapshot(NamedTuple):
    """A position at one moment (what the journal stores). ``exact`` holds its integers
    (None in snapshots made by hand: a restore then puts the floats on the grid)."""

    symbol: str
    qty: float
    avg_cost: float
    realized: float
    fees: float
    mark: float
    exact: ExactPosition | None = None


def _ratio(value: float, name: str) -> tuple[int, int]:
    """``value`` as the exact ratio of its shortest decimal form (0.001 -> (1, 1000))."""
    if not (math.isfinite(value) and value > 0):
        raise ValueError(f"{name}: must be finite and > 0, got {value}")
    num, den = Decimal(repr(value)).as_integer_ratio()
    return num, den


class Grid:
    """An instrument's tick and lot; converts floats to whole ticks/lots and back."""

    __slots__ = (
        "lot_den",
        "lot_num",
        "lot_size",
        "lots_per_unit",
        "tick_den",
        "tick_num",
        "tick_size",
        "ticks_per_unit",
    )

    def __init__(self, tick_size: float, lot_size: float) -> None:
        self.tick_num, self.tick_den = _ratio(tick_size, "tick_size")
        self.lot_num, self.lot_den = _ratio(lot_size, "lot_size")
        self.tick_size = tick_size
        self.lot_size = lot_size
        self.lots_per_unit = self.lot_den / self.lot_num
        self.ticks_per_unit = self.tick_den / self.tick_num

    def lots(self, qty: float, name: str = "signed_qty") -> int:
        """``qty`` in whole lots; ``ValueError`` naming ``name`` when it is off the grid."""
        return _whole(qty * self.lots_per_unit, qty, name, "lot", self.lot_size)

    def ticks(self, price: float, name: str = "price") -> int:
        """``price`` in whole ticks; ``ValueError`` naming ``name`` when it is off the grid."""
        return _whole(price * self.ticks_per_unit, price, name, "tick", self.tick_size)


def _whole(units: float, value: float, name: str, step: str, size: float) -> int:
    n = round(units)
    off = units - n
    if off and abs(off) > GRID_TOLERANCE * max(abs(units), 1.0):
        raise ValueError(f"{name}: {value} is not a whole number of {step}s ({step} {size})")
    return n


#: The units of a position without a grid: it holds nothing, so they only scale zeros.
_NO_GRID = Grid(1.0, 1.0)


_core_mark = PositionCore.mark
_core_apply_fill = PositionCore.apply_fill
_NAN = math.nan


class Position(PositionCore):
    """Signed size, average cost, realized PnL and fees of one symbol, in exact integers
    (see the module docstring); the float figures are read-only views of them. A position
    without a grid (its symbol not registered) stays flat: it refuses every fill. The
    accounting runs in Rust (:class:`mmcore._core.PositionCore`, ``rust/portfolio.rs``), the
    one implementation the engine step applies fills and marks with."""

    def __new__(cls, symbol: str, grid: Grid | None = None) -> Position:
        return super().__new__(cls, *_grid_args(grid))

    def __init__(self, symbol: str, grid: Grid | None = None) -> None:
        self.symbol = symbol
        self.grid = grid

    @property
    def mark(self) -> float:
        """The last mid (NaN before any: always ``math.nan`` itself, so snapshots of
        unmarked positions compare equal)."""
        mark = _core_mark.__get__(self)
        return _NAN if mark != mark else mark

    @mark.setter
    def mark(self, mid: float) -> None:
        _core_mark.__set__(self, mid)

    def set_grid(self, grid: Grid | None) -> None:
        """Count in ``grid`` from now on (only while nothing is held: the integers are not
        converted); None: no grid, every fill is refused."""
        self._set_grid(*_grid_args(grid))
        self.grid = grid

    def apply_fill(self, signed_qty: float, price: float, fee: float) -> float:
        """Apply a fill (+ buys, - sells); returns the PnL it realized. A fill of no size (a
        venue's odd report) moves only its fee. A size or fee that is not finite, a price that
        is not finite and > 0, a size off the lot grid or a price off the tick grid raise
        ``ValueError`` naming it, and so does any fill while the symbol has no grid; nothing
        changes then."""
        if self.grid is None:
            raise ValueError(
                f"symbol: {self.symbol} has no tick/lot registered (Portfolio.instrument): "
                "its fills cannot be counted"
            )
        return _core_apply_fill(self, signed_qty, price, fee)

    def exact(self) -> ExactPosition:
        """The integers and their grid."""
        g = self.grid if self.grid is not None else _NO_GRID
        return ExactPosition(
            self.lots, self.cash, self.basis, self.fee_units, g.tick_size, g.lot_size
        )

    def snapshot(self) -> PositionSnapshot:
        """An immutable copy."""
        return PositionSnapshot(
            self.symbol,
            self.qty,
            self.avg_cost,
            self.realized,
            self.fees,
            self.mark,
            self.exact(),
        )


def _grid_args(grid: Grid | None) -> tuple[int, int, int, int, float, float]:
    # without a grid every integer is 0, so any unit gives the 0 the float views must read
    g = grid if grid is not None else _NO_GRID
    return g.tick_num, g.tick_den, g.lot_num, g.lot_den, g.tick_size, g.lot_size


def _div_round(a: int, b: int) -> int:
    """``a / b`` rounded half to even, exactly (``b`` != 0)."""
    if b < 0:
        a, b = -a, -b
    q, r = divmod(a, b)
    twice = 2 * r
    if twice > b or (twice == b and q % 2):
        q += 1
    return q


class Portfolio:
    """All positions; equity = starting cash + Σ net PnL."""

    def __init__(self, cash: float = 0.0) -> None:
        if not math.isfinite(cash):
            raise ValueError(f"cash: must be finite, got {cash}")
        self.cash = cash
        self.positions: dict[str, Position] = {}
        self.grids: dict[str, Grid] = {}
        #: Fills and marks refused for bad values (nothing changed for them).
        self.refused = 0

    def instrument(self, symbol: str, tick_size: float, lot_size: float) -> None:
        """Register the grid ``symbol`` trades on (before its first fill; re-registering the
        same grid is a no-op). A tick or lot that is not finite and > 0, or a new grid for a
        position already held, raise ``ValueError`` naming it."""
        grid = Grid(tick_size, lot_size)
        pos = self.positions.get(symbol)
        held = None if pos is None or pos.grid is None else pos.grid
        if pos is not None and (
            held is None or (held.tick_size, held.lot_size) != (tick_size, lot_size)
        ):
            if held is not None and (pos.lots or pos.cash or pos.fee_units):
                raise ValueError(
                    f"tick_size/lot_size: {symbol} already holds a position on tick "
                    f"{held.tick_size} lot {held.lot_size}"
                )
            pos.set_grid(grid)  # in place: holders of the Position see the grid
        self.grids[symbol] = grid

    def position(self, symbol: str) -> Position:
        """The position of ``symbol`` (created flat on first use; without a grid until the
        symbol is registered with :meth:`instrument`)."""
        pos = self.positions.get(symbol)
        if pos is None:
            pos = self.positions[symbol] = Position(symbol, self.grids.get(symbol))
        return pos

    def apply_fill(self, symbol: str, signed_qty: float, price: float, fee: float) -> float:
        """Apply a fill to ``symbol``; returns the realized PnL. Bad values, and a symbol not
        registered with :meth:`instrument`, raise ``ValueError`` (see
        :meth:`Position.apply_fill`), counted in :attr:`refused`."""
        try:
            return self.position(symbol).apply_fill(signed_qty, price, fee)
        except ValueError:
            self.refused += 1
            raise

    def mark(self, symbol: str, mid: float) -> None:
        """Mark ``symbol`` to ``mid`` (NaN mids are ignored: the last mark stays; ±inf or a
        negative mid raises ``ValueError``, counted in :attr:`refused`)."""
        try:
            self.position(symbol).set_mark(mid)
        except ValueError:
            self.refused += 1
            raise

    def restore(self, snapshots: list[PositionSnapshot]) -> None:
        """Load positions saved in the journal (in place: holders of a :class:`Position`
        from :meth:`position` see the restored values). A snapshot's integers are taken as
        they are; one without them (made by hand) is put on the grid from its floats. A
        snapshot that does not fit its symbol's grid, or whose symbol is not registered,
        raises ``ValueError`` naming the field; nothing is restored then."""
        exact = [_exact_of(s, self._grid_of(s.symbol)) for s in snapshots]
        for s, e in zip(snapshots, exact, strict=True):  # all checked before any change
            pos = self.position(s.symbol)
            pos._load(e.lots, e.cash, e.basis, e.fee_units)
            pos.mark = s.mark

    def _grid_of(self, symbol: str) -> Grid:
        grid = self.grids.get(symbol)
        if grid is None:
            raise ValueError(f"symbol: {symbol} has no tick/lot registered (Portfolio.instrument)")
        return grid

    @property
    def realized(self) -> float:
        """Total realized PnL (gross of fees)."""
        return sum(p.realized for p in self.positions.values())

    @property
    def unrealized(self) -> float:
        """Total unrealized PnL at the marks."""
        return sum(p.unrealized for p in self.positions.values())

    @property
    def fees(self) -> float:
        """Total fees paid (rebates negative)."""
        return sum(p.fees for p in self.positions.values())

    @property
    def equity(self) -> float:
        """Cash + realized + unrealized - fees."""
        total = self.cash
        for p in self.positions.values():  # a loop, not sum(): read on every book update
            total += p.net
        return total


def _exact_of(s: PositionSnapshot, g: Grid) -> ExactPosition:
    """The integers of snapshot ``s`` on grid ``g`` (``ValueError`` naming the field when it
    does not fit)."""
    if s.exact is not None:
        e = s.exact
        if (e.tick_size, e.lot_size) != (g.tick_size, g.lot_size):
            raise ValueError(
                f"exact: saved on tick {e.tick_size} lot {e.lot_size}, {s.symbol} trades on "
                f"tick {g.tick_size} lot {g.lot_size}"
            )
        return e
    for name in ("qty", "avg_cost", "realized", "fees"):
        value = getattr(s, name)
        if not math.isfinite(value):
            raise ValueError(f"{name}: must be finite, got {value}")
    lots = g.lots(s.qty, "qty")
    basis = round(s.avg_cost * g.tick_den / g.tick_num * BASIS_SCALE) * lots
    money_num, money_den = g.tick_num * g.lot_num, g.tick_den * g.lot_den
    realized_scaled = round(s.realized * money_den / money_num * BASIS_SCALE)
    cash = _div_round(realized_scaled - basis, BASIS_SCALE)
    return ExactPosition(lots, cash, basis, round(s.fees * FEE_SCALE), g.tick_size, g.lot_size)
