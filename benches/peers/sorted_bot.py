"""The hand-written bot: orjson + one ``sortedcontainers.SortedDict`` per side."""

from __future__ import annotations

from itertools import islice

import orjson
from sortedcontainers import SortedDict

from .binance_sync import SyncedBinanceBook


class SortedDictBot(SyncedBinanceBook):
    """Float prices; bids keyed by negated price so both sides iterate best first."""

    name = "orjson + sortedcontainers"
    loads = staticmethod(orjson.loads)

    def __init__(self) -> None:
        super().__init__()
        self.bids = SortedDict()
        self.asks = SortedDict()

    def clear(self) -> None:
        self.bids.clear()
        self.asks.clear()

    def set_levels(self, bids: list, asks: list) -> None:
        side = self.bids
        for price, qty in bids:
            size = float(qty)
            if size:
                side[-float(price)] = size
            else:
                side.pop(-float(price), None)
        side = self.asks
        for price, qty in asks:
            size = float(qty)
            if size:
                side[float(price)] = size
            else:
                side.pop(float(price), None)

    def top(self, depth: int) -> tuple[list, list]:
        bids, asks = self.bids, self.asks
        return (
            [(-key, bids[key]) for key in islice(bids, depth)],
            [(key, asks[key]) for key in islice(asks, depth)],
        )
