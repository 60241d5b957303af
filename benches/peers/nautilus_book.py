"""nautilus_trader's pyo3 ``OrderBook`` (L2_MBP), fed by orjson through per-level deltas.

This is how nautilus' own adapters feed its book: every level of a message becomes a
``BookOrder`` inside an ``OrderBookDelta`` (UPDATE, or DELETE for a zero size), and the
message's deltas are applied as one ``OrderBookDeltas``.
"""

from __future__ import annotations

import orjson

from .binance_sync import SyncedBinanceBook
from .harness import PeerUnavailable

try:
    from nautilus_trader.core import nautilus_pyo3 as _nt
except ImportError as exc:  # an optional peer: the bench reports why it is skipped
    _nt = None
    _IMPORT_ERROR = f"nautilus_trader is not importable ({exc}); `pip install nautilus_trader`"


class NautilusBook(SyncedBinanceBook):
    """Prices and sizes parsed by nautilus' fixed-point ``Price``/``Quantity`` from the strings."""

    name = "nautilus_trader pyo3 book"
    loads = staticmethod(orjson.loads)

    def __init__(self) -> None:
        if _nt is None:
            raise PeerUnavailable(_IMPORT_ERROR)
        super().__init__()
        self.instrument_id = _nt.InstrumentId.from_str("BTCUSDT.BINANCE")
        self.book = _nt.OrderBook(self.instrument_id, _nt.BookType.L2_MBP)
        self._sequence = 0

    def clear(self) -> None:
        self.book = _nt.OrderBook(self.instrument_id, _nt.BookType.L2_MBP)

    def set_levels(self, bids: list, asks: list) -> None:
        nt, iid = _nt, self.instrument_id
        price_from, size_from = nt.Price.from_str, nt.Quantity.from_str
        update, delete = nt.BookAction.UPDATE, nt.BookAction.DELETE
        self._sequence += 1
        seq = self._sequence
        deltas = []
        for side, levels in ((nt.OrderSide.BUY, bids), (nt.OrderSide.SELL, asks)):
            for price, qty in levels:
                size = size_from(qty)
                order = nt.BookOrder(side, price_from(price), size, 0)
                action = update if size.raw else delete
                deltas.append(nt.OrderBookDelta(iid, action, order, 0, seq, 0, 0))
        if deltas:
            self.book.apply_deltas(nt.OrderBookDeltas(iid, deltas))

    def top(self, depth: int) -> tuple[list, list]:
        book = self.book
        return (
            [(level.price.as_double(), level.size()) for level in book.bids(depth)],
            [(level.price.as_double(), level.size()) for level in book.asks(depth)],
        )
