"""OKX v5 public: ``op: subscribe``, text ping/pong, ``books`` with seqId and checksum."""

from __future__ import annotations

import json
import zlib
from collections import Counter
from http import HTTPStatus
from typing import Any

from mmcore.sim.wire.flow import BookChange, TradePrint, TrueBook
from mmcore.sim.wire.server import (
    WireConnection,
    WireVenue,
    compact_json,
    now_ms,
)

__all__ = ["BookLevels", "OkxWire", "okx_checksum"]

BookLevels = list[tuple[str, str]]


def okx_checksum(bids: BookLevels, asks: BookLevels) -> int:
    """OKX book checksum: CRC32 of bid/ask px:sz interleaved over the top 25, signed 32-bit."""
    parts: list[str] = []
    for i in range(25):
        if i < len(bids):
            parts += bids[i]
        if i < len(asks):
            parts += asks[i]
    crc = zlib.crc32(":".join(parts).encode())
    return crc - (1 << 32) if crc >= 1 << 31 else crc


def _okx_levels(levels: BookLevels) -> list[list[str]]:
    # four strings per level: px, sz, deprecated "0", number of orders
    return [[px, sz, "0", "0" if float(sz) == 0 else "1"] for px, sz in levels]


class OkxWire(WireVenue):
    """OKX ``/ws/v5/public``: ``books`` snapshot (prevSeqId -1) then updates, and ``trades``.

    ``checksum_zero=True`` mimics the 2026 deprecation (the field is always 0);
    ``in_band_snapshots=False`` the announced removal of the initial snapshot, after which a
    client must bootstrap from REST ``GET /api/v5/market/books`` (served here too).
    """

    def __init__(
        self,
        symbols: list[str],
        *,
        checksum_zero: bool = False,
        in_band_snapshots: bool = True,
        **kwargs: Any,
    ) -> None:
        self.checksum_zero = checksum_zero
        self.in_band_snapshots = in_band_snapshots
        super().__init__(symbols, **kwargs)

    @property
    def ws_url(self) -> str:
        """The public websocket URL."""
        return f"{self.base_ws_url}/ws/v5/public"

    def last_update_id(self, symbol: str) -> int:
        return self._seq[symbol]

    # ---- hooks -----------------------------------------------------------------------------
    def corrupt_checksum(self, symbol: str, count: int = 1) -> None:
        """Send the next ``count`` updates of ``symbol`` with a wrong checksum."""
        self._corrupt[symbol] += count

    def _init_ids(self) -> None:
        self._seq = {s: 7_000 * (i + 1) for i, s in enumerate(self.books)}
        self._corrupt: Counter[str] = Counter()

    def _checksum(self, book: TrueBook) -> int:
        if self.checksum_zero:
            return 0
        crc = okx_checksum(book.levels("bids", 25), book.levels("asks", 25))
        if self._corrupt[book.symbol] > 0:
            self._corrupt[book.symbol] -= 1
            crc = crc + 1 if crc < 2**31 - 1 else crc - 1
        return crc

    def _on_message(self, conn: WireConnection, text: str) -> None:
        if text == "ping":
            conn.send("pong")
            return
        try:
            req = json.loads(text)
            op, args = req["op"], req["args"]
            pairs = [(a["channel"], a["instId"]) for a in args]
        except (ValueError, KeyError, TypeError):
            conn.send(
                compact_json({"event": "error", "code": "60012", "msg": f"Invalid request: {text}"})
            )
            return
        extra = {"id": req["id"]} if "id" in req else {}
        for channel, inst in pairs:
            arg = {"channel": channel, "instId": inst}
            if inst not in self.books or channel not in ("books", "trades"):
                msg = f"{channel}:{inst} doesn't exist"
                conn.send(compact_json({"event": "error", "code": "60018", "msg": msg, **extra}))
                continue
            topic = self._book_topic(inst) if channel == "books" else self._trade_topic(inst)
            if op == "unsubscribe":
                conn.topics.pop(topic, None)
                conn.send(
                    compact_json({"event": "unsubscribe", "arg": arg, "connId": "fake", **extra})
                )
            elif op == "subscribe":
                conn.topics[topic] = channel
                conn.send(
                    compact_json({"event": "subscribe", "arg": arg, "connId": "fake", **extra})
                )
                if channel == "books" and self.in_band_snapshots:
                    conn.send(self._snapshot_message(inst))

    def _snapshot_message(self, inst: str) -> str:
        seq, bids, asks = self._take_snapshot(inst)
        checksum = 0 if self.checksum_zero else okx_checksum(bids[:25], asks[:25])
        data = {
            "asks": _okx_levels(asks),
            "bids": _okx_levels(bids),
            "ts": str(now_ms()),
            "checksum": checksum,
            "prevSeqId": -1,
            "seqId": seq,
        }
        arg = {"channel": "books", "instId": inst}
        return compact_json({"arg": arg, "action": "snapshot", "data": [data]})

    def _rest(self, path: str, query: dict[str, str]) -> tuple[int, Any, int]:
        if path != "/api/v5/market/books":
            return super()._rest(path, query)
        inst = query.get("instId", "")
        if inst not in self.books:
            return (
                HTTPStatus.OK,
                {"code": "51001", "msg": "Instrument ID does not exist", "data": []},
                1,
            )
        seq, bids, asks = self._take_snapshot(inst)
        book = {
            "asks": _okx_levels(asks),
            "bids": _okx_levels(bids),
            "ts": str(now_ms()),
            "seqId": seq,
        }
        return HTTPStatus.OK, {"code": "0", "msg": "", "data": [book]}, 1

    def _book_message(self, symbol: str, change: BookChange) -> str:
        prev = self._seq[symbol]
        self._seq[symbol] = prev + 1 + len(change.asks)  # OKX seqIds step by more than 1
        data = {
            "asks": _okx_levels(change.asks),
            "bids": _okx_levels(change.bids),
            "ts": str(now_ms()),
            "checksum": self._checksum(self.books[symbol]),
            "prevSeqId": prev,
            "seqId": self._seq[symbol],
        }
        arg = {"channel": "books", "instId": symbol}
        return compact_json({"arg": arg, "action": "update", "data": [data]})

    def _trade_message(self, symbol: str, trade: TradePrint) -> str:
        data = {
            "instId": symbol,
            "tradeId": str(trade.trade_id),
            "px": trade.price,
            "sz": trade.size,
            "side": "buy" if trade.taker_buy else "sell",
            "ts": str(now_ms()),
            "count": "1",
        }
        return compact_json({"arg": {"channel": "trades", "instId": symbol}, "data": [data]})

    def _malformed_frame(self, index: int) -> str:
        inst = next(iter(self.books))
        arg = {"channel": "books", "instId": inst}
        if index % 2:
            data = {"asks": [["x"]], "bids": [], "ts": "1", "checksum": 0, "prevSeqId": "a"}
            return compact_json({"arg": arg, "action": "update", "data": [data]})
        return '{"arg":{"channel":"books","instId":"' + inst + '"},"action":"update","data":[{"as'
