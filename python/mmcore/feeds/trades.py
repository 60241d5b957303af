"""Trade prints out of venue trade frames, for consumers that need each print (a paper venue).

The Rust core routes a trade frame and keeps flow aggregates; the individual prints (price,
size, aggressor side) are read here only for frames the core already classified as trades.
"""

from __future__ import annotations

from typing import NamedTuple

import orjson

__all__ = ["TradePrint", "parse_trades"]


class TradePrint(NamedTuple):
    """One market trade: price, size and whether the aggressor bought."""

    price: float
    qty: float
    buyer_aggressor: bool


def parse_trades(venue: str, frame: bytes | str) -> list[TradePrint]:
    """The prints in one trade frame of ``venue``; ``ValueError`` when it is not one."""
    try:
        msg = orjson.loads(frame)
        if venue.startswith("binance"):
            data = msg.get("data", msg)
            # "m": the buyer is the maker, so the seller was the aggressor
            return [TradePrint(float(data["p"]), float(data["q"]), not data["m"])]
        if venue.startswith("bybit"):
            return [TradePrint(float(t["p"]), float(t["v"]), t["S"] == "Buy") for t in msg["data"]]
        if venue == "okx":
            return [
                TradePrint(float(t["px"]), float(t["sz"]), t["side"] == "buy") for t in msg["data"]
            ]
    except (orjson.JSONDecodeError, KeyError, TypeError, AttributeError) as exc:
        raise ValueError(f"{venue}: not a trade frame ({exc!r}): {frame[:120]!r}") from None
    raise ValueError(f"unknown venue {venue!r}")
