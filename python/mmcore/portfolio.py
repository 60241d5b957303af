"""Positions and PnL per symbol and in total, marked to the mid.

Realized PnL is gross of fees; fees are tracked separately (negative fees are rebates), and
``net`` = realized + unrealized - fees.

Fails closed: a fill whose size or fee is not finite, or whose price is not finite and > 0, and
a mark that is ±inf or negative, raise ``ValueError`` naming the argument before anything
changes (counted in :attr:`Portfolio.refused`). A NaN mark is no mark (the last one stays).
"""

from __future__ import annotations

import math
from typing import NamedTuple

__all__ = ["Portfolio", "Position", "PositionSnapshot"]


def _check_fill(signed_qty: float, price: float, fee: float) -> None:
    """Refuse a fill the books cannot hold (before anything changes)."""
    if not math.isfinite(signed_qty):
        raise ValueError(f"signed_qty: must be finite, got {signed_qty}")
    if not (math.isfinite(price) and price > 0):
        raise ValueError(f"price: must be finite and > 0, got {price}")
    if not math.isfinite(fee):
        raise ValueError(f"fee: must be finite, got {fee}")


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
        venue's odd report) moves only its fee. A size or fee that is not finite, or a price
        that is not finite and > 0, raises ``ValueError`` naming it; nothing changes then."""
        _check_fill(signed_qty, price, fee)
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
        if not math.isfinite(cash):
            raise ValueError(f"cash: must be finite, got {cash}")
        self.cash = cash
        self.positions: dict[str, Position] = {}
        #: Fills and marks refused for bad values (nothing changed for them).
        self.refused = 0

    def position(self, symbol: str) -> Position:
        """The position of ``symbol`` (created flat on first use)."""
        pos = self.positions.get(symbol)
        if pos is None:
            pos = self.positions[symbol] = Position(symbol)
        return pos

    def apply_fill(self, symbol: str, signed_qty: float, price: float, fee: float) -> float:
        """Apply a fill to ``symbol``; returns the realized PnL. Bad values raise
        ``ValueError`` (see :meth:`Position.apply_fill`), counted in :attr:`refused`."""
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
