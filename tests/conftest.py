"""Shared helpers: the bundled real captures and a plain reference book to check against."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import pytest

SAMPLES = Path(__file__).parent / "data" / "samples"


def lines(path: Path) -> list[str]:
    """Payload lines of a capture, line endings stripped (the Bybit file is CRLF)."""
    return [line.rstrip("\r\n") for line in path.read_text().splitlines() if line.strip()]


class ReferenceBook:
    """The obvious, slow book: dicts of Decimal, absolute sizes, zero deletes."""

    def __init__(self) -> None:
        self.bids: dict[Decimal, Decimal] = {}
        self.asks: dict[Decimal, Decimal] = {}

    def replace(self, bids, asks) -> None:
        self.bids.clear()
        self.asks.clear()
        self.update(bids, asks)

    def update(self, bids, asks) -> None:
        for side, levels in ((self.bids, bids), (self.asks, asks)):
            for level in levels:
                price, size = Decimal(level[0]), Decimal(level[1])
                if size == 0:
                    side.pop(price, None)
                else:
                    side[price] = size

    def top(self, side: str, n: int = 10**9) -> list[tuple[float, float]]:
        levels = self.bids if side == "bids" else self.asks
        ordered = sorted(levels.items(), reverse=side == "bids")[:n]
        return [(float(p), float(q)) for p, q in ordered]

    def binance_snapshot(self, last_update_id: int) -> bytes:
        """A REST depth body for this state."""

        def side(name):
            return [
                [str(p), str(q)]
                for p, q in sorted(getattr(self, name).items(), reverse=name == "bids")
            ]

        return json.dumps(
            {"lastUpdateId": last_update_id, "bids": side("bids"), "asks": side("asks")}
        ).encode()


def assert_same_book(book, reference: ReferenceBook) -> None:
    """Every level of `book` equals the reference, in order."""
    for side in ("bids", "asks"):
        got = [tuple(row) for row in getattr(book, side)(10**6).tolist()]
        assert got == reference.top(side), f"{side} differ"


@pytest.fixture
def samples() -> Path:
    return SAMPLES
