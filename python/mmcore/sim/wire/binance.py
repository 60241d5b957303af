"""Binance spot / USD-M: combined streams, ping frames, REST depth with weights."""

from __future__ import annotations

import json
from http import HTTPStatus
from typing import Any
from urllib.parse import parse_qs, urlsplit

from mmcore.feeds.binance import snapshot_weight
from mmcore.sim.wire.flow import BookChange, TradePrint
from mmcore.sim.wire.server import (
    WireConnection,
    WireVenue,
    compact_json,
    now_ms,
)

__all__ = ["BinanceWire"]


class BinanceWire(WireVenue):
    """Binance spot (``futures=False``) or USD-M futures (``futures=True``) market data.

    Clients connect to ``/stream?streams=btcusdt@depth@100ms/btcusdt@trade`` (combined form);
    live ``SUBSCRIBE``/``UNSUBSCRIBE`` requests work too. Spot update ids are contiguous per
    symbol; futures ids jump (shared across symbols) and carry ``pu``.
    """

    def __init__(self, symbols: list[str], *, futures: bool = False, **kwargs: Any) -> None:
        self.futures = futures
        super().__init__(symbols, **kwargs)

    @property
    def ws_url(self) -> str:
        """The base websocket URL a client appends ``/stream?streams=...`` to."""
        return self.base_ws_url

    def last_update_id(self, symbol: str) -> int:
        return self._last_u[symbol]

    def server_shutdown(self, grace: float = 0.2) -> None:
        """Warn every open connection with ``serverShutdown``, then close them after ``grace``."""
        event = compact_json({"e": "serverShutdown", "E": now_ms()})
        conns = list(self.connections)
        for conn in conns:
            conn.send(self._wrap("!serverShutdown", event))

        async def close_all() -> None:
            for conn in conns:
                await conn.ws.close(1001, "server shutdown")

        self._later(grace, close_all)

    # ---- hooks -----------------------------------------------------------------------------
    def _init_ids(self) -> None:
        self._last_u = {s: 1_000_000 * (i + 1) for i, s in enumerate(self.books)}
        self._next_id = 10_000_000  # futures: one id space shared by all symbols
        self._used_weight = 0

    def _on_open(self, conn: WireConnection) -> None:
        url = urlsplit(conn.ws.request.path if conn.ws.request else "/")
        streams = parse_qs(url.query).get("streams", [""])[-1]
        for name in filter(None, streams.split("/")):
            self._subscribe(conn, name)

    def _subscribe(self, conn: WireConnection, name: str) -> None:
        sym, _, kind = name.partition("@")
        symbol = sym.upper()
        if symbol not in self.books:
            return
        if kind.startswith("depth"):
            conn.topics[self._book_topic(symbol)] = name
        elif kind in ("trade", "aggTrade"):
            conn.topics[self._trade_topic(symbol)] = name

    def _on_message(self, conn: WireConnection, text: str) -> None:
        try:
            req = json.loads(text)
            method, params, req_id = req["method"], req.get("params", []), req.get("id")
        except (ValueError, KeyError, TypeError):
            conn.send(compact_json({"code": 3, "msg": "Invalid JSON or request"}))
            return
        if method == "SUBSCRIBE":
            for name in params:
                self._subscribe(conn, name)
            conn.send(compact_json({"result": None, "id": req_id}))
        elif method == "UNSUBSCRIBE":
            names = set(params)
            conn.topics = {k: v for k, v in conn.topics.items() if v not in names}
            conn.send(compact_json({"result": None, "id": req_id}))
        elif method == "LIST_SUBSCRIPTIONS":
            conn.send(compact_json({"result": sorted(conn.topics.values()), "id": req_id}))
        else:
            conn.send(compact_json({"code": 1, "msg": f"Unknown method {method}", "id": req_id}))

    def _wrap(self, wire_name: str, message: str) -> str:
        return f'{{"stream":"{wire_name}","data":{message}}}'

    def _book_message(self, symbol: str, change: BookChange) -> str:
        prev = self._last_u[symbol]
        event: dict[str, Any] = {"e": "depthUpdate", "E": now_ms()}
        if self.futures:
            first = self._next_id + 1 + len(change.bids)  # other symbols' ids interleave
            last = first + len(change.asks) + 1
            self._next_id = last
            event |= {"T": event["E"], "s": symbol, "U": first, "u": last, "pu": prev}
        else:
            first, last = prev + 1, prev + 1 + len(change.bids)
            event |= {"s": symbol, "U": first, "u": last}
        self._last_u[symbol] = last
        event |= {"b": change.bids, "a": change.asks}
        return compact_json(event)

    def _trade_message(self, symbol: str, trade: TradePrint) -> str:
        ts = now_ms()
        return compact_json(
            {
                "e": "trade",
                "E": ts,
                "s": symbol,
                "t": trade.trade_id,
                "p": trade.price,
                "q": trade.size,
                "T": ts,
                "m": not trade.taker_buy,  # buyer is maker <=> the seller was the aggressor
                "M": True,
            }
        )

    def _malformed_frame(self, index: int) -> str:
        symbol = next(iter(self.books))
        name = f"{symbol.lower()}@depth@100ms"
        if index % 2:
            data = compact_json(
                {"e": "depthUpdate", "E": now_ms(), "s": symbol, "U": "x", "u": None}
            )
            return self._wrap(name, data)
        return self._wrap(name, '{"e":"depthUpdate","E":1,"s":"' + symbol + '","U":12,"b":[["1')

    def _rest(self, path: str, query: dict[str, str]) -> tuple[int, Any, int]:
        expected = "/fapi/v1/depth" if self.futures else "/api/v3/depth"
        if path != expected:
            return super()._rest(path, query)
        symbol = query.get("symbol", "")
        if symbol not in self.books:
            return HTTPStatus.BAD_REQUEST, {"code": -1121, "msg": "Invalid symbol."}, 1
        try:
            limit = int(query.get("limit", "100"))
        except ValueError:
            return HTTPStatus.BAD_REQUEST, {"code": -1100, "msg": "Illegal characters in limit"}, 1
        last_id, bids, asks = self._take_snapshot(symbol)
        body: dict[str, Any] = {"lastUpdateId": last_id}
        if self.futures:
            body |= {"E": now_ms(), "T": now_ms()}
        body |= {"bids": bids[:limit], "asks": asks[:limit]}
        return HTTPStatus.OK, body, snapshot_weight(limit, self.futures)

    def _rest_headers(self, weight: int) -> dict[str, str]:
        self._used_weight += weight
        return {"X-MBX-USED-WEIGHT-1M": str(self._used_weight)}
