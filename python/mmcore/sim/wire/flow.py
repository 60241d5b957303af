"""A wire venue's true order book and its seeded, deterministic order flow."""

from __future__ import annotations

import random
import zlib
from dataclasses import dataclass

__all__ = ["BookChange", "TradePrint", "TrueBook"]


@dataclass(frozen=True, slots=True)
class BookChange:
    """One step of the true book: the absolute new sizes of the levels it touched."""

    bids: list[tuple[str, str]]
    asks: list[tuple[str, str]]


@dataclass(frozen=True, slots=True)
class TradePrint:
    """One trade at the touch; ``taker_buy`` tells the aggressor side."""

    trade_id: int
    price: str
    size: str
    taker_buy: bool


class TickBook:
    """An L2 book in integer ticks and lots per side, written out in the venue's strings."""

    def __init__(self, symbol: str, price_decimals: int, size_decimals: int) -> None:
        self.symbol = symbol
        self.bids: dict[int, int] = {}
        self.asks: dict[int, int] = {}
        self._pfmt = f"{{:.{price_decimals}f}}"
        self._sfmt = f"{{:.{size_decimals}f}}"
        self._pscale = 10**price_decimals
        self._sscale = 10**size_decimals

    def price(self, ticks: int) -> str:
        """The venue string for a price in ticks."""
        return self._pfmt.format(ticks / self._pscale)

    def size(self, lots: int) -> str:
        """The venue string for a size in lots (``0`` lots deletes a level)."""
        return self._sfmt.format(lots / self._sscale)

    def best_bid(self) -> int | None:
        """Best bid in ticks (None when the side is empty)."""
        return max(self.bids) if self.bids else None

    def best_ask(self) -> int | None:
        """Best ask in ticks (None when the side is empty)."""
        return min(self.asks) if self.asks else None

    def levels(self, side: str, n: int | None = None) -> list[tuple[str, str]]:
        """Levels of ``side`` ("bids" or "asks") best first, as venue strings."""
        book = self.bids if side == "bids" else self.asks
        prices = sorted(book, reverse=side == "bids")[:n]
        return [(self.price(p), self.size(book[p])) for p in prices]

    def float_levels(self, side: str) -> list[tuple[float, float]]:
        """Levels of ``side`` best first as (price, size) floats, for comparing with a book."""
        return [(float(p), float(q)) for p, q in self.levels(side)]


class TrueBook(TickBook):
    """An L2 book kept in integer ticks/lots that evolves one random step at a time.

    Prices stay within ``depth + 2`` ticks of a fixed mid so the book never crosses and stays
    small (every venue's snapshot can carry all of it, so a synced local book must equal it).
    """

    def __init__(
        self,
        symbol: str,
        *,
        seed: int = 1,
        mid_ticks: int = 1_000_000,
        depth: int = 10,
        price_decimals: int = 2,
        size_decimals: int = 3,
    ) -> None:
        super().__init__(symbol, price_decimals, size_decimals)
        # zlib.crc32, not hash(): str hashes are salted per process.
        self._rng = random.Random(seed * 1_000_003 + zlib.crc32(symbol.encode()))
        self._mid = mid_ticks
        self._span = depth + 2
        self._trade_id = 0
        self.bids: dict[int, int] = {mid_ticks - i: self._lots() for i in range(1, depth + 1)}
        self.asks: dict[int, int] = {mid_ticks + i: self._lots() for i in range(1, depth + 1)}

    def _lots(self) -> int:
        return self._rng.randint(1, 5_000)

    def step(self) -> BookChange:
        """Apply 1-3 random level changes (inserts, overwrites, deletes) and return them."""
        touched: dict[tuple[bool, int], int] = {}
        for _ in range(self._rng.randint(1, 3)):
            is_bid = self._rng.random() < 0.5
            side = self.bids if is_bid else self.asks
            offset = self._rng.randint(1, self._span)
            px = self._mid - offset if is_bid else self._mid + offset
            # keep at least one level per side so the touch always exists
            delete = px in side and len(side) > 1 and self._rng.random() < 0.35
            lots = 0 if delete else self._lots()
            if lots:
                side[px] = lots
            else:
                side.pop(px, None)
            touched[(is_bid, px)] = lots
        bids = [(self.price(p), self.size(q)) for (b, p), q in touched.items() if b]
        asks = [(self.price(p), self.size(q)) for (b, p), q in touched.items() if not b]
        return BookChange(bids=bids, asks=asks)

    def trade(self) -> TradePrint:
        """A trade print at the touch (it does not change the book: flow is synthetic)."""
        self._trade_id += 1
        taker_buy = self._rng.random() < 0.5
        px = min(self.asks) if taker_buy else max(self.bids)
        return TradePrint(self._trade_id, self.price(px), self.size(self._lots()), taker_buy)
