"""The blog-post bot: stdlib json, ``Decimal`` prices and sizes, dicts sorted on demand."""

from __future__ import annotations

import json
from decimal import Decimal

from .binance_sync import SyncedBinanceBook

_ZERO = Decimal(0)


class DecimalBot(SyncedBinanceBook):
    """Exact ``Decimal`` levels in plain dicts; the top levels come from sorting the dict."""

    name = "json + Decimal + sorted"
    loads = staticmethod(json.loads)

    def __init__(self) -> None:
        super().__init__()
        self.bids: dict[Decimal, Decimal] = {}
        self.asks: dict[Decimal, Decimal] = {}

    def clear(self) -> None:
        self.bids.clear()
        self.asks.clear()

    def set_levels(self, bids: list, asks: list) -> None:
        for side, levels in ((self.bids, bids), (self.asks, asks)):
            for price, qty in levels:
                size = Decimal(qty)
                if size == _ZERO:
                    side.pop(Decimal(price), None)
                else:
                    side[Decimal(price)] = size

    def top(self, depth: int) -> tuple[list, list]:
        return (
            sorted(self.bids.items(), reverse=True)[:depth],
            sorted(self.asks.items())[:depth],
        )
