"""Bybit v5 public (spot / linear): ``op: subscribe``, ``op: ping`` every 20 s, resync.

A gap is resynced from the REST order book (``GET /v5/market/orderbook``) where that is sound
and by resubscribing otherwise. Bybit documents the REST ``u`` as the ``u`` of *one* websocket
depth, and which one has changed (spot 50 -> 200 -> 1000, contracts 200 -> 500 -> 1000 across
the doc versions; 1000 for both today), while every depth's topic counts its own ``u``. So:

- only ``orderbook.1000`` books use REST (``limit=1000`` is then the whole book), and
- a REST snapshot is not trusted until a diff chains onto its ``u`` (a buffered diff replayed
  behind it, or the next live one); a snapshot that no diff confirms within
  ``resync_timeout_s`` (the relation changed again, or the answer was stale) is dropped for
  an in-band snapshot: unsubscribe + subscribe, always sound.
"""

from __future__ import annotations

import json

import orjson

from mmcore.feeds.venue import SnapshotRequest, VenueProtocol

__all__ = ["BybitProtocol"]

_MAX_ARGS = 10  # spot accepts at most 10 topics per subscribe request
_MAX_ARGS_CHARS = 21_000  # total length of the topics one connection may subscribe
REST_DEPTH = 1000  # the websocket depth whose u the REST order book's u is documented to be


def _op(op: str, args: list[str]) -> str:
    return json.dumps({"op": op, "args": args}, separators=(",", ":"))


class BybitProtocol(VenueProtocol):
    """``orderbook.<depth>.<SYM>`` and ``publicTrade.<SYM>`` for every symbol: at most 10
    topics a request, and connections split before their topics reach 21,000 characters."""

    heartbeat = '{"op":"ping"}'
    connection_capacity = _MAX_ARGS_CHARS

    def __init__(
        self, venue: str, symbols: tuple[str, ...], book_depth: int, snapshot_limit: int
    ) -> None:
        super().__init__(venue, symbols, book_depth, snapshot_limit)
        self.category = venue.removeprefix("bybit-")
        self.rest_snapshots = book_depth == REST_DEPTH
        self.resync = "rest" if self.rest_snapshots else "resubscribe"

    @property
    def snapshot_on_subscribe(self) -> bool:
        return True  # every subscribe starts with a snapshot, REST resync or not

    def snapshot_request(self, symbol: str) -> SnapshotRequest:
        # 600 requests / 5 s per IP: one unit of our weight budget each
        params = {"category": self.category, "symbol": symbol, "limit": str(REST_DEPTH)}
        return SnapshotRequest("/v5/market/orderbook", params, 1)

    def snapshot_body(self, symbol: str, body: bytes) -> tuple[bytes, int]:
        """The REST ``result`` is a websocket ``data`` object: wrap it as the topic's
        snapshot message (levels untouched; the core decodes them)."""
        try:
            answer = orjson.loads(body)
            code, result = answer["retCode"], answer["result"]
            update_id = result["u"]
        except (orjson.JSONDecodeError, KeyError, TypeError) as exc:
            raise ValueError(f"bybit orderbook {symbol}: not an order book ({exc!r})") from None
        if code != 0 or not isinstance(update_id, int):
            raise ValueError(f"bybit orderbook {symbol}: retCode={code} {answer.get('retMsg')!r}")
        message = {
            "topic": self._book_topic(symbol),
            "type": "snapshot",
            "ts": result.get("ts"),
            "data": result,
        }
        return orjson.dumps(message), update_id

    def _book_topic(self, symbol: str) -> str:
        return f"orderbook.{self.book_depth}.{symbol}"

    def symbol_cost(self, symbol: str) -> float:
        # each topic as it is written in the args list: quoted, comma-separated
        return len(self._book_topic(symbol)) + len(f"publicTrade.{symbol}") + 2 * 3

    def subscribe_frames(self) -> list[str]:
        topics = [t for s in self.symbols for t in (self._book_topic(s), f"publicTrade.{s}")]
        return [
            _op("subscribe", topics[i : i + _MAX_ARGS]) for i in range(0, len(topics), _MAX_ARGS)
        ]

    def resubscribe_frames(self, symbol: str) -> list[str]:
        # subscribing twice is an error on Bybit: drop the topic first
        topic = [self._book_topic(symbol)]
        return [_op("unsubscribe", topic), _op("subscribe", topic)]

    def is_control(self, frame: bytes) -> bool:
        return frame.startswith(b'{"success"') or b'"op":"pong"' in frame

    def subscribe_error(self, frame: bytes) -> bool:
        return frame.startswith(b'{"success":false')
