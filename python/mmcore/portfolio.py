"""Positions and PnL per symbol and in total, marked to the mid.

Realized PnL is gross of fees; fees are tracked separately (negative fees are rebates), and
``net`` = realized + unrealized - fees.
"""

from __future__ import annotations

import math
from typing import NamedTuple

__all__ = ["Portfolio", "Position", "PositionSnapshot"]


class PositionSnapshot(NamedTuple):
    """A position at one moment (what the journal stores)."""

    symbol: str
    qty: float
    avg_cost: float
    realized: float
    fees: float
    mark: float


class Position:
    """Signed quantity, average cost, realized PnL and fees of one symbol."""

    __slots__ = ("avg_cost", "fees", "mark", "qty", "realized", "symbol")

    def __init__(
        self,
        symbol: str,
        qty: float = 0.0,
        avg_cost: float = 0.0,
        realized: float = 0.0,
        fees: float = 0.0,
        mark: float = math.nan,
    ) -> None:
        self.symbol = symbol
        self.qty = qty
        self.avg_cost = avg_cost
        self.realized = realized
        self.fees = fees
        self.mark = mark

    def apply_fill(self, signed_qty: float, price: float, fee: float) -> float:
        """Apply a fill (+ buys, - sells); returns the PnL it realized. A fill of no size (a
        venue's odd report) moves only its fee."""
        self.fees += fee
        if not signed_qty:
            return 0.0
        q = self.qty
        if q == 0 or (q > 0) == (signed_qty > 0):  # opening or adding
            new = q + signed_qty
            self.avg_cost = (self.avg_cost * abs(q) + price * abs(signed_qty)) / abs(new)
            self.qty = new
            return 0.0
        closed = min(abs(q), abs(signed_qty))
        pnl = (price - self.avg_cost) * closed * (1.0 if q > 0 else -1.0)
        self.realized += pnl
        new = q + signed_qty
        if abs(new) < 1e-12:
            self.qty, self.avg_cost = 0.0, 0.0
        elif (new > 0) != (q > 0):  # flipped: the rest opens at this price
            self.qty, self.avg_cost = new, price
        else:
            self.qty = new
        return pnl

    @property
    def unrealized(self) -> float:
        """PnL of the open quantity at the last mark (0 before any mark)."""
        if self.qty == 0 or self.mark != self.mark:
            return 0.0
        return (self.mark - self.avg_cost) * self.qty

    @property
    def net(self) -> float:
        """Realized + unrealized - fees."""
        return self.realized + self.unrealized - self.fees

    def snapshot(self) -> PositionSnapshot:
        """An immutable copy."""
        return PositionSnapshot(
            self.symbol, self.qty, self.avg_cost, self.realized, self.fees, self.mark
        )


class Portfolio:
    """All positions; equity = starting cash + Σ net PnL."""

    def __init__(self, cash: float = 0.0) -> None:
        self.cash = cash
        self.positions: dict[str, Position] = {}

    def position(self, symbol: str) -> Position:
        """The position of ``symbol`` (created flat on first use)."""
        pos = self.positions.get(symbol)
        if pos is None:
            pos = self.positions[symbol] = Position(symbol)
        return pos

    def apply_fill(self, symbol: str, signed_qty: float, price: float, fee: float) -> float:
        """Apply a fill to ``symbol``; returns the realized PnL."""
        return self.position(symbol).apply_fill(signed_qty, price, fee)

    def mark(self, symbol: str, mid: float) -> None:
        """Mark ``symbol`` to ``mid`` (NaN mids are ignored: the last mark stays)."""
        if mid == mid:
            self.position(symbol).mark = mid

    def restore(self, snapshots: list[PositionSnapshot]) -> None:
        """Load positions saved in the journal (in place: holders of a :class:`Position`
        from :meth:`position` see the restored values)."""
        for s in snapshots:
            pos = self.position(s.symbol)
            pos.qty, pos.avg_cost, pos.realized, pos.fees, pos.mark = s[1:]

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
