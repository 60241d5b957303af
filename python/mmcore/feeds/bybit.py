"""Bybit v5 public (spot / linear): ``op: subscribe``, ``op: ping`` every 20 s, resubscribe."""

from __future__ import annotations

import json

from mmcore.feeds.venue import VenueProtocol

__all__ = ["BybitProtocol"]

_MAX_ARGS = 10  # spot accepts at most 10 topics per subscribe request
_MAX_ARGS_CHARS = 21_000  # total length of the topics one connection may subscribe


def _op(op: str, args: list[str]) -> str:
    return json.dumps({"op": op, "args": args}, separators=(",", ":"))


class BybitProtocol(VenueProtocol):
    """``orderbook.<depth>.<SYM>`` and ``publicTrade.<SYM>`` for every symbol: at most 10
    topics a request, and connections split before their topics reach 21,000 characters."""

    heartbeat = '{"op":"ping"}'
    connection_capacity = _MAX_ARGS_CHARS

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
