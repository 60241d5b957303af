"""Fake Binance spot: ``/api/v3/...`` REST and the user data stream over the WebSocket API
(``/ws-api/v3``, ``userDataStream.subscribe.signature``) with ``executionReport`` /
``outboundAccountPosition`` events, as ccxt 4.5.90 calls them (docs/exchange-protocols.md §6).

Post-only is ``LIMIT_MAKER``. Binance spot has no amend endpoint for price (ccxt's
``edit_order`` sends ``order/cancelReplace``, which this fake does not serve).
"""

from __future__ import annotations

import json
import time
from typing import Any, ClassVar

from mmcore.testing.fake_venue.binance_common import (
    ORDER_STATUS,
    TRADES_PARAMS,
    BinanceError,
    BinanceFamily,
    Route,
    bad,
    endpoint,
    filter_reject,
    price_and_lot_filters,
)
from mmcore.testing.fake_venue.ledger import (
    LedgerEvent,
    MarketSpec,
    Order,
    Reject,
)
from mmcore.testing.fake_venue.server import (
    StreamConn,
    num,
)

__all__ = ["FakeBinanceSpot"]

# the parameters each endpoint reads (anything else is refused with -1104, like the venue)
_SPOT_INFO_PARAMS = "symbol symbols permissions showPermissionSets symbolStatus"
_SPOT_ORDER_PARAMS = (
    "symbol side type timeInForce quantity price newClientOrderId newOrderRespType "
    "selfTradePreventionMode strategyId strategyType"
)
_SPOT_CANCEL_PARAMS = "symbol orderId origClientOrderId newClientOrderId cancelRestrictions"


# the answer to an order placed with newOrderRespType=ACK
_ACK_FIELDS = ("symbol", "orderId", "orderListId", "clientOrderId", "transactTime")


class FakeBinanceSpot(BinanceFamily):
    """Binance spot: REST under ``/api/v3`` and the WebSocket API user data stream at
    ``/ws-api/v3``. Point ccxt at it with :func:`mmcore.testing.fake_venue.ccxt_exchange`."""

    ccxt_preset = "binance-spot"
    order_entry = ("POST", "/api/v3/order")
    kind = "spot"
    prefix = "/api/v3"
    routes: ClassVar[dict[tuple[str, str], tuple[str, Route]]] = {
        ("GET", "time"): ("_time", endpoint(1, "")),
        ("GET", "ping"): ("_ping", endpoint(1, "")),
        ("GET", "exchangeInfo"): ("_spot_info", endpoint(20, _SPOT_INFO_PARAMS)),
        ("GET", "ticker/24hr"): ("_ticker", endpoint(2, "symbol type", "symbol")),
        ("POST", "order"): (
            "_new_order",
            endpoint(1, _SPOT_ORDER_PARAMS, "symbol side type quantity"),
        ),
        ("DELETE", "order"): ("_cancel", endpoint(1, _SPOT_CANCEL_PARAMS, "symbol")),
        ("DELETE", "openOrders"): ("_cancel_all", endpoint(1, "symbol", "symbol")),
        ("GET", "order"): ("_query", endpoint(4, "symbol orderId origClientOrderId", "symbol")),
        ("GET", "openOrders"): ("_open", endpoint(6, "symbol")),
        ("GET", "allOrders"): (
            "_all_orders",
            endpoint(20, "symbol orderId startTime endTime limit", "symbol"),
        ),
        ("GET", "myTrades"): ("_my_trades", endpoint(20, TRADES_PARAMS, "symbol")),
        ("GET", "account"): ("_account", endpoint(20, "omitZeroBalances")),
    }

    @property
    def ws_api_url(self) -> str:
        """The WebSocket API endpoint (ccxt's ``urls['api']['ws']['ws-api']['spot']``)."""
        return f"{self.ws_url}/ws-api/v3"

    # ---- REST ------------------------------------------------------------------------------
    def _ping(self, params: dict[str, Any]) -> Any:
        return {}

    def _spot_info(self, params: dict[str, Any]) -> Any:
        return self._exchange_info(_spot_filters)

    def _symbol_info(self, m: MarketSpec, filters: list[dict[str, Any]]) -> dict[str, Any]:
        return {
            "symbol": m.symbol,
            "status": "TRADING",
            "baseAsset": m.base,
            "baseAssetPrecision": 8,
            "quoteAsset": m.quote,
            "quotePrecision": 8,
            "quoteAssetPrecision": 8,
            "baseCommissionPrecision": 8,
            "quoteCommissionPrecision": 8,
            "orderTypes": ["LIMIT", "LIMIT_MAKER"],
            "icebergAllowed": True,
            "ocoAllowed": False,
            "otoAllowed": False,
            "quoteOrderQtyMarketAllowed": False,
            "allowTrailingStop": False,
            "cancelReplaceAllowed": False,
            "amendAllowed": False,
            "isSpotTradingAllowed": True,
            "isMarginTradingAllowed": False,
            "filters": filters,
            "permissions": [],
            "permissionSets": [["SPOT"]],
            "defaultSelfTradePreventionMode": "EXPIRE_MAKER",
            "allowedSelfTradePreventionModes": ["EXPIRE_MAKER"],
        }

    def _new_order(self, params: dict[str, Any]) -> Any:
        market, side, qty, price, client_id = self._place_args(params)
        order_type = params.get("type")
        if order_type == "LIMIT_MAKER":
            if "timeInForce" in params:
                raise bad(-1106, "Parameter 'timeInForce' sent when not required.")
            post_only = True
        elif order_type == "LIMIT":
            if params.get("timeInForce") != "GTC":
                raise bad(
                    -1102,
                    "Mandatory parameter 'timeInForce' was not sent, was empty/null, or malformed.",
                )
            post_only = False
        else:
            raise bad(-1116, "Invalid orderType.")
        if post_only and self.take_post_only_reject():
            raise bad(-2010, "Order would immediately match and take.")
        try:
            order = self.ledger.place(
                market.symbol, side, qty, price, client_id, post_only=post_only
            )
        except Reject as err:
            raise filter_reject(err, futures=False) from None
        view = self._order_view(order)
        view.pop("time")
        view.pop("updateTime")
        view.pop("isWorking")
        view["transactTime"] = order.created_ms
        if params.get("newOrderRespType") == "ACK":  # the ids only, as Binance answers
            return {k: view[k] for k in _ACK_FIELDS}
        if params.get("newOrderRespType") != "RESULT":  # FULL, ccxt's default
            view["fills"] = []
        return view

    def _ticker(self, params: dict[str, Any]) -> Any:
        """The 24 h ticker: best bid/ask as set by :meth:`set_quote`, last = their mid."""
        market = self._market(params)
        if market.symbol not in self.ledger.quotes:
            raise bad(-1121, "Invalid symbol.")
        bid, ask = self.ledger.quotes[market.symbol]
        now = self.now_ms()
        mid, zero = num((bid + ask) / 2), "0"
        return {
            "symbol": market.symbol,
            "priceChange": zero,
            "priceChangePercent": zero,
            "weightedAvgPrice": mid,
            "prevClosePrice": mid,
            "lastPrice": mid,
            "lastQty": zero,
            "bidPrice": num(bid),
            "bidQty": "1",
            "askPrice": num(ask),
            "askQty": "1",
            "openPrice": mid,
            "highPrice": num(ask),
            "lowPrice": num(bid),
            "volume": zero,
            "quoteVolume": zero,
            "openTime": now - 86_400_000,
            "closeTime": now,
            "firstId": -1,
            "lastId": -1,
            "count": 0,
        }

    def _all_orders(self, params: dict[str, Any]) -> Any:
        """Every order of the symbol, oldest first (the newest ``limit``, default 500)."""
        symbol = self._market(params).symbol
        orders = [o for o in self.ledger.orders.values() if o.symbol == symbol]
        return [self._order_view(o) for o in orders[-int(params.get("limit") or 500) :]]

    def _cancel(self, params: dict[str, Any]) -> Any:
        return self._cancel_view(self._cancel_order(params))

    def _cancel_all(self, params: dict[str, Any]) -> Any:
        market = self._market(params)
        canceled = self.ledger.cancel_all(market.symbol)
        if not canceled:
            raise bad(-2011, "Unknown order sent.")
        return [self._cancel_view(o) for o in canceled]

    def _my_trades(self, params: dict[str, Any]) -> Any:
        return [
            {
                "symbol": f.symbol,
                "id": f.trade_id,
                "orderId": f.order_id,
                "orderListId": -1,
                "price": num(f.price),
                "qty": num(f.qty),
                "quoteQty": num(f.price * f.qty),
                "commission": num(f.fee),
                "commissionAsset": f.fee_asset,
                "time": f.time_ms,
                "isBuyer": f.side == "buy",
                "isMaker": f.maker,
                "isBestMatch": True,
            }
            for f in self._trades(params)
        ]

    def _account(self, params: dict[str, Any]) -> Any:
        omit = params.get("omitZeroBalances") == "true"
        balances = [
            {"asset": a, "free": num(b.free), "locked": num(b.locked)}
            for a, b in sorted(self.ledger.balances.items())
            if not omit or b.free or b.locked
        ]
        return {
            "makerCommission": 10,
            "takerCommission": 10,
            "buyerCommission": 0,
            "sellerCommission": 0,
            "canTrade": True,
            "canWithdraw": True,
            "canDeposit": True,
            "brokered": False,
            "requireSelfTradePrevention": False,
            "preventSor": False,
            "updateTime": self.now_ms(),
            "accountType": "SPOT",
            "balances": balances,
            "permissions": ["SPOT"],
            "uid": 1,
        }

    # ---- views -----------------------------------------------------------------------------
    def _order_view(self, o: Order) -> dict[str, Any]:
        return {
            "symbol": o.symbol,
            "orderId": o.order_id,
            "orderListId": -1,
            "clientOrderId": o.client_id,
            "price": num(o.price),
            "origQty": num(o.qty),
            "executedQty": num(o.filled),
            "cummulativeQuoteQty": num(o.filled_quote),
            "status": ORDER_STATUS[o.status],
            "timeInForce": "GTC",
            "type": "LIMIT_MAKER" if o.post_only else "LIMIT",
            "side": o.side.upper(),
            "stopPrice": "0",
            "icebergQty": "0",
            "time": o.created_ms,
            "updateTime": o.updated_ms,
            "isWorking": True,
            "workingTime": o.created_ms,
            "origQuoteOrderQty": "0",
            "selfTradePreventionMode": "EXPIRE_MAKER",
        }

    def _cancel_view(self, o: Order) -> dict[str, Any]:
        view = self._order_view(o)
        for key in ("time", "updateTime", "isWorking", "workingTime", "stopPrice", "icebergQty"):
            view.pop(key)
        view["origClientOrderId"] = o.client_id
        view["clientOrderId"] = self._next_cancel_id()
        view["transactTime"] = o.updated_ms
        return view

    # ---- streams ---------------------------------------------------------------------------
    def stream_messages(self, event: LedgerEvent) -> list[tuple[str, str, bool]]:
        o, f = event.order, event.fill
        report = self._event_base("executionReport") | {
            "s": o.symbol,
            "c": o.client_id,
            "S": o.side.upper(),
            "o": "LIMIT_MAKER" if o.post_only else "LIMIT",
            "f": "GTC",
            "q": num(o.qty),
            "p": num(o.price),
            "P": "0",
            "F": "0",
            "g": -1,
            "C": "",
            "x": {
                "new": "NEW",
                "canceled": "CANCELED",
                "expired": "EXPIRED",
                "trade": "TRADE",
                "amended": "REPLACED",
            }[event.kind],
            "X": ORDER_STATUS[o.status],
            "r": "NONE",
            "i": o.order_id,
            "l": num(f.qty) if f else "0",
            "z": num(o.filled),
            "L": num(f.price) if f else "0",
            "n": num(f.fee) if f else "0",
            "N": f.fee_asset if f else None,
            "T": o.updated_ms,
            "t": f.trade_id if f else -1,
            "I": 0,
            "w": o.is_open,
            "m": f.maker if f else False,
            "M": False,
            "O": o.created_ms,
            "Z": num(o.filled_quote),
            "Y": num(f.qty * f.price) if f else "0",
            "Q": "0",
            "W": o.created_ms,
            "V": "EXPIRE_MAKER",
        }
        if event.kind in ("canceled", "expired"):
            report["c"], report["C"] = self._next_cancel_id(), o.client_id
        frames = [("user", self._wrap(report), f is not None)]
        if event.assets:
            position = self._event_base("outboundAccountPosition") | {
                "u": o.updated_ms,
                "B": [
                    {
                        "a": a,
                        "f": num(self.ledger.balance(a).free),
                        "l": num(self.ledger.balance(a).locked),
                    }
                    for a in event.assets
                ],
            }
            frames.append(("user", self._wrap(position), False))
        return frames

    @staticmethod
    def _wrap(event: dict[str, Any]) -> str:
        return json.dumps({"subscriptionId": 0, "event": event}, separators=(",", ":"))

    def terminate_user_streams(self) -> int:
        """Fault: the venue ends every user data subscription with ``eventStreamTerminated``
        (the connection stays open; a new ``userDataStream.subscribe`` is needed). Return how
        many subscriptions were ended."""
        ended = 0
        for conn in self.streams:
            if "user" in conn.topics:
                conn.send(self._wrap(self._event_base("eventStreamTerminated")))
                conn.topics.discard("user")
                ended += 1
        return ended

    async def stream_session(self, conn: StreamConn) -> None:
        if not conn.path.startswith("/ws-api/v3"):
            await conn.ws.close(1008, "unknown path")
            return
        async for raw in conn.ws:
            try:
                request = json.loads(raw)
                req_id, method = request["id"], request["method"]
                params = request.get("params") or {}
            except (ValueError, KeyError, TypeError):
                conn.send(
                    json.dumps(
                        {
                            "id": None,
                            "status": 400,
                            "error": {"code": -1102, "msg": "Malformed request."},
                        }
                    )
                )
                continue
            started = time.perf_counter()
            entry = self.log_ws_request("/ws-api/v3", method, params)
            reply = self._ws_api(conn, method, params)
            entry.status = reply.get("status", 200)
            entry.code = reply.get("error", {}).get("code")
            conn.send(json.dumps({"id": req_id, **reply}, separators=(",", ":")))
            entry.service_s = time.perf_counter() - started

    def _ws_api(self, conn: StreamConn, method: str, params: dict[str, Any]) -> dict[str, Any]:
        if self.banned:
            return {"status": 418, "error": {"code": -1003, "msg": "Way too many requests."}}
        if method == "ping":
            return {"status": 200, "result": {}}
        if method == "time":
            return {"status": 200, "result": {"serverTime": self.now_ms()}}
        if method == "userDataStream.subscribe.signature":
            try:
                self._ws_authorise(params)
            except BinanceError as err:
                return {"status": err.status, "error": {"code": err.code, "msg": err.msg}}
            conn.authed = True
            conn.topics.add("user")
            return {"status": 200, "result": {"subscriptionId": 0}}
        if method == "userDataStream.unsubscribe":
            conn.topics.discard("user")
            return {"status": 200, "result": {}}
        return {"status": 400, "error": {"code": -1102, "msg": f"Unknown method {method}."}}

    def _ws_authorise(self, params: dict[str, Any]) -> None:
        """WebSocket API signing: HMAC of the sorted ``key=value`` params without signature."""
        if not self.check_api_key(params.get("apiKey")):
            raise bad(-2015, "Invalid API-key, IP, or permissions for action.", 401)
        if self.clock_error(params.get("timestamp"), params.get("recvWindow")):
            raise bad(-1021, "Timestamp for this request is outside of the recvWindow.")
        unsigned = sorted((k, v) for k, v in params.items() if k != "signature")
        payload = "&".join(f"{k}={v}" for k, v in unsigned)
        if not self.signature_ok(payload, params.get("signature")):
            raise bad(-1022, "Signature for this request is not valid.")


def _spot_filters(m: MarketSpec) -> list[dict[str, Any]]:
    return [
        *price_and_lot_filters(m),
        {
            "filterType": "NOTIONAL",
            "minNotional": num(m.min_notional),
            "applyMinToMarket": True,
            "maxNotional": "9000000",
            "applyMaxToMarket": False,
            "avgPriceMins": 5,
        },
        {
            "filterType": "PERCENT_PRICE_BY_SIDE",
            "bidMultiplierUp": "5",
            "bidMultiplierDown": "0.2",
            "askMultiplierUp": "5",
            "askMultiplierDown": "0.2",
            "avgPriceMins": 5,
        },
    ]
