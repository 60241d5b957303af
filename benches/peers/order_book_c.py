"""The ``order-book`` C package (PyPI ``order-book``) fed by orjson."""

from __future__ import annotations

import orjson
from order_book import OrderBook

from .binance_sync import SyncedBinanceBook


class OrderBookCBot(SyncedBinanceBook):
    """Float prices in ``order_book.OrderBook`` (bids kept descending by the package)."""

    name = "order-book (C) + orjson"
    loads = staticmethod(orjson.loads)

    def __init__(self) -> None:
        super().__init__()
        self.book = OrderBook()

    def clear(self) -> None:
        self.book = OrderBook()

    def set_levels(self, bids: list, asks: list) -> None:
        for side, levels in ((self.book.bids, bids), (self.book.asks, asks)):
            for price, qty in levels:
                size = float(qty)
                if size:
                    side[float(price)] = size
                elif float(price) in side:
                    del side[float(price)]

    def top(self, depth: int) -> tuple[list, list]:
        bids, asks = self.book.bids, self.book.asks
        return (
            [bids.index(i) for i in range(min(depth, len(bids)))],
            [asks.index(i) for i in range(min(depth, len(asks)))],
        )
