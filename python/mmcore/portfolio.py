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


def _check_fill(signed_qty: float, price: float, fee: float) -> None:
    """Refuse a fill the books cannot hold (before anything changes)."""
    if not math.isfinite(signed_qty):
        raise ValueError(f"signed_qty: must be finite, got {signed_qty}")
    if not (math.isfinite(price) and price > 0):
        raise ValueError(f"price: must be finite and > 0, got {price}")
    if not math.isfinite(fee):
        raise ValueError(f"fee: must be finite, got {fee}")


class Position:
    """Signed size, average cost, realized PnL and fees of one symbol, in exact integers
    (see the module docstring); the float figures are read-only views of them. A position
    without a grid (its symbol not registered) stays flat: it refuses every fill."""

    __slots__ = (
        "_money",
        "_price",
        "_qty_unit",
        "basis",
        "cash",
        "fee_units",
        "grid",
        "lots",
        "mark",
        "symbol",
    )

    def __init__(self, symbol: str, grid: Grid | None = None) -> None:
        self.symbol = symbol
        self.lots = 0
        self.cash = 0
        self.basis = 0
        self.fee_units = 0
        #: the last mid (NaN before any)
        self.mark = math.nan
        self.set_grid(grid)

    def set_grid(self, grid: Grid | None) -> None:
        """Count in ``grid`` from now on (only while nothing is held: the integers are not
        converted); None: no grid, every fill is refused."""
        self.grid = grid
        # the float views: qty = lots·num/den, money = tick-lot units·num/den (without a grid
        # every integer is 0, so any unit gives the 0 they must read)
        g = grid if grid is not None else _NO_GRID
        self._qty_unit = (g.lot_num, g.lot_den)
        self._price = (g.tick_num, g.tick_den)
        self._money = (g.tick_num * g.lot_num, g.tick_den * g.lot_den)

    def apply_fill(self, signed_qty: float, price: float, fee: float) -> float:
        """Apply a fill (+ buys, - sells); returns the PnL it realized. A fill of no size (a
        venue's odd report) moves only its fee. A size or fee that is not finite, a price that
        is not finite and > 0, a size off the lot grid or a price off the tick grid raise
        ``ValueError`` naming it, and so does any fill while the symbol has no grid; nothing
        changes then."""
        _check_fill(signed_qty, price, fee)
        grid = self.grid
        if grid is None:
            raise ValueError(
                f"symbol: {self.symbol} has no tick/lot registered (Portfolio.instrument): "
                "its fills cannot be counted"
            )
        n = grid.lots(signed_qty)
        p = grid.ticks(price)
        if p < 1:
            raise ValueError(f"price: {price} is below one tick ({grid.tick_size})")
        self.fee_units += round(fee * FEE_SCALE)
        if not n:
            return 0.0
        q = self.lots
        new = q + n
        if q == 0 or (q > 0) == (n > 0):  # opening or adding: the fill's cost joins the basis
            self.cash -= n * p
            self.basis += n * p * BASIS_SCALE
            self.lots = new
            return 0.0
        before = self.cash * BASIS_SCALE + self.basis
        self.cash -= n * p
        if new == 0:
            self.basis = 0
        elif (new > 0) != (q > 0):  # flipped: the rest opens at this price
            self.basis = new * p * BASIS_SCALE
        else:  # reduced: the average stays
            self.basis = _div_round(self.basis * new, q)
        self.lots = new
        num, den = self._money
        return (self.cash * BASIS_SCALE + self.basis - before) * num / (den * BASIS_SCALE)

    def exact(self) -> ExactPosition:
        """The integers and their grid (a tick and lot of 1.0 without one: nothing is held)."""
        g = self.grid if self.grid is not None else _NO_GRID
        return ExactPosition(
            self.lots, self.cash, self.basis, self.fee_units, g.tick_size, g.lot_size
        )

    def _load(self, e: ExactPosition) -> None:
        """Take the integers of ``e`` (counted on this position's grid)."""
        self.lots, self.cash, self.basis, self.fee_units = e.lots, e.cash, e.basis, e.fee_units

    @property
    def qty(self) -> float:
        """Signed size."""
        num, den = self._qty_unit
        return self.lots * num / den

    @property
    def avg_cost(self) -> float:
        """Average cost of the open size (0 when flat)."""
        if not self.lots:
            return 0.0
        num, den = self._price
        return self.basis * num / (self.lots * den * BASIS_SCALE)

    @property
    def realized(self) -> float:
        """Realized PnL, gross of fees."""
        num, den = self._money
        return (self.cash * BASIS_SCALE + self.basis) * num / (den * BASIS_SCALE)

    @property
    def fees(self) -> float:
        """Fees paid (rebates negative)."""
        return self.fee_units / FEE_SCALE

    @property
    def unrealized(self) -> float:
        """PnL of the open size at the last mark (0 before any mark)."""
        mark = self.mark
        if not self.lots or mark != mark:
            return 0.0
        num, den = self._money
        return self.qty * mark - self.basis * num / (den * BASIS_SCALE)

    @property
    def net(self) -> float:
        """Realized + unrealized - fees (read on every book update: at a mark it is the cash
        flow plus the open size at the mark, the basis cancelling out)."""
        mark = self.mark
        if mark != mark:  # no mark yet: nothing unrealized
            return self.realized - self.fees
        num, den = self._money
        qnum, qden = self._qty_unit
        return self.cash * num / den + self.lots * qnum / qden * mark - self.fee_units / FEE_SCALE

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
        if mid != mid:
            return
        if math.isinf(mid) or mid < 0:
            self.refused += 1
            raise ValueError(f"mid: must be finite and >= 0 (or NaN), got {mid}")
        self.position(symbol).mark = mid

    def restore(self, snapshots: list[PositionSnapshot]) -> None:
        """Load positions saved in the journal (in place: holders of a :class:`Position`
        from :meth:`position` see the restored values). A snapshot's integers are taken as
        they are; one without them (made by hand) is put on the grid from its floats. A
        snapshot that does not fit its symbol's grid, or whose symbol is not registered,
        raises ``ValueError`` naming the field; nothing is restored then."""
        exact = [_exact_of(s, self._grid_of(s.symbol)) for s in snapshots]
        for s, e in zip(snapshots, exact, strict=True):  # all checked before any change
            pos = self.position(s.symbol)
            pos._load(e)
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
