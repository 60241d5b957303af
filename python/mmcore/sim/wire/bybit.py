"""Bybit v5 public: ``op: subscribe`` / ``op: ping``, orderbook snapshot + deltas, trades."""

from __future__ import annotations

import json
from http import HTTPStatus
from typing import Any

from mmcore.sim.wire.flow import BookChange, TradePrint
from mmcore.sim.wire.server import (
    WireConnection,
    WireVenue,
    compact_json,
    now_ms,
)

__all__ = ["BybitWire"]


class BybitWire(WireVenue):
    """Bybit v5 spot/linear public stream at ``/v5/public/<category>``.

    ``orderbook.<N>.<SYM>`` starts with a ``snapshot`` on subscribe, then ``delta`` messages
    whose ``u`` rises by exactly 1. Subscribing an already-subscribed topic is an error, as on
    the real venue, so a resync is unsubscribe + subscribe. ``GET /v5/market/orderbook``
    serves the book with the stream's ``u`` (the documented relation for the 1000-level
    stream); ``rest_u_offset`` shifts it, as REST ids from another depth's sequence would be.
    """

    def __init__(
        self,
        symbols: list[str],
        *,
        category: str = "spot",
        max_args_chars: int = 21_000,
        rest_u_offset: int = 0,
        **kwargs: Any,
    ) -> None:
        self.category = category
        self.rest_u_offset = rest_u_offset
        # spot refuses more than 10 topics a request; every category caps one connection's
        # topics at 21,000 characters in all
        self.max_args = 10 if category == "spot" else None
        self.max_args_chars = max_args_chars
        super().__init__(symbols, **kwargs)

    @property
    def ws_url(self) -> str:
        """The websocket URL of this category's public stream."""
        return f"{self.base_ws_url}/v5/public/{self.category}"

    def last_update_id(self, symbol: str) -> int:
        return self._u[symbol]

    # ---- hooks -----------------------------------------------------------------------------
    def _init_ids(self) -> None:
        self._u = dict.fromkeys(self.books, 100)
        self._seq = 5_000_000

    def _on_message(self, conn: WireConnection, text: str) -> None:
        try:
            req = json.loads(text)
            op, req_id = req["op"], req.get("req_id", "")
        except (ValueError, KeyError, TypeError):
            conn.send(compact_json({"success": False, "ret_msg": "Invalid request", "op": ""}))
            return
        reply = {"conn_id": f"fake-{conn.conn_id}", "req_id": req_id, "op": op}
        if op == "ping":
            conn.send(compact_json({"success": True, "ret_msg": "pong", **reply}))
        elif op == "subscribe":
            self._subscribe(conn, req.get("args", []), reply)
        elif op == "unsubscribe":
            for name in req.get("args", []):
                conn.topics = {k: v for k, v in conn.topics.items() if v != name}
            conn.send(compact_json({"success": True, "ret_msg": "", **reply}))
        else:
            conn.send(compact_json({"success": False, "ret_msg": f"unknown op {op}", **reply}))

    def _subscribe(self, conn: WireConnection, names: list[str], reply: dict[str, Any]) -> None:
        snapshots = []
        refusal = None
        if self.max_args is not None and len(names) > self.max_args:
            refusal = f"args size {len(names)} > {self.max_args}"
        elif sum(len(n) for n in [*conn.topics.values(), *names]) > self.max_args_chars:
            refusal = f"args length over {self.max_args_chars} on one connection"
        if refusal is not None:
            self.limit_violations.append(refusal)
            conn.send(compact_json({"success": False, "ret_msg": refusal, **reply}))
            return
        for name in names:
            kind, _, symbol = name.rpartition(".")
            if symbol not in self.books or not kind.startswith(("orderbook.", "publicTrade")):
                conn.send(
                    compact_json(
                        {
                            "success": False,
                            "ret_msg": f"error:handler not found,topic:{name}",
                            **reply,
                        }
                    )
                )
                return
            if name in conn.topics.values():
                ret = f"error:already subscribed,topic:{name}"
                conn.send(compact_json({"success": False, "ret_msg": ret, **reply}))
                return
        for name in names:
            kind, _, symbol = name.rpartition(".")
            if kind.startswith("orderbook."):
                conn.topics[self._book_topic(symbol)] = name
                snapshots.append(self._snapshot_message(name, symbol))
            else:
                conn.topics[self._trade_topic(symbol)] = name
        conn.send(compact_json({"success": True, "ret_msg": "subscribe", **reply}))
        for message in snapshots:
            conn.send(message)

    def _snapshot_message(self, name: str, symbol: str) -> str:
        u, bids, asks = self._take_snapshot(symbol)
        self._seq += 1
        data = {"s": symbol, "b": bids, "a": asks, "u": u, "seq": self._seq}
        ts = now_ms()
        return compact_json({"topic": name, "type": "snapshot", "ts": ts, "data": data, "cts": ts})

    def _wrap(self, wire_name: str, message: str) -> str:
        # the topic name is part of the message; only orderbook depth can differ per client
        return message.replace('"topic":"@', f'"topic":"{wire_name}', 1)

    def _book_message(self, symbol: str, change: BookChange) -> str:
        self._u[symbol] += 1
        self._seq += 3
        data = {
            "s": symbol,
            "b": change.bids,
            "a": change.asks,
            "u": self._u[symbol],
            "seq": self._seq,
        }
        ts = now_ms()
        return compact_json({"topic": "@", "type": "delta", "ts": ts, "data": data, "cts": ts})

    def _trade_message(self, symbol: str, trade: TradePrint) -> str:
        ts = now_ms()
        self._seq += 1
        data = {
            "T": ts,
            "s": symbol,
            "S": "Buy" if trade.taker_buy else "Sell",
            "v": trade.size,
            "p": trade.price,
            "L": "ZeroPlusTick",
            "i": str(trade.trade_id),
            "BT": False,
            "seq": self._seq,
        }
        return compact_json({"topic": "@", "type": "snapshot", "ts": ts, "data": [data]})

    def _rest(self, path: str, query: dict[str, str]) -> tuple[int, Any, int]:
        if path != "/v5/market/orderbook":
            return super()._rest(path, query)
        symbol = query.get("symbol", "")
        if query.get("category") != self.category or symbol not in self.books:
            error = {"retCode": 10001, "retMsg": "params error: symbol invalid", "result": {}}
            return HTTPStatus.OK, error, 1  # Bybit answers errors with HTTP 200 and a retCode
        limit = int(query.get("limit", "1"))
        u, bids, asks = self._take_snapshot(symbol)
        self._seq += 1
        ts = now_ms()
        result = {
            "s": symbol,
            "b": bids[:limit],
            "a": asks[:limit],
            "ts": ts,
            "u": u + self.rest_u_offset,
            "seq": self._seq,
            "cts": ts,
        }
        body = {"retCode": 0, "retMsg": "OK", "result": result, "retExtInfo": {}, "time": ts}
        return HTTPStatus.OK, body, 1

    def _malformed_frame(self, index: int) -> str:
        symbol = next(iter(self.books))
        if index % 2:
            data = {"s": symbol, "b": [["abc", "1"]], "a": [], "u": "x", "seq": 1}
            return compact_json(
                {"topic": f"orderbook.50.{symbol}", "type": "delta", "ts": 1, "data": data}
            )
        return '{"topic":"orderbook.50.' + symbol + '","type":"delta","data":{"b":[["1'
