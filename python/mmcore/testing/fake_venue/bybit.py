"""Fake Bybit v5 (unified account), one category per instance (``spot`` or ``linear``): the
signed REST order entry and the private websocket that ccxt 4.5.90 calls
(docs/exchange-protocols.md §6).

REST answers are HTTP 200 with ``retCode``/``retMsg``; requests are signed with
``X-BAPI-SIGN`` = HMAC-SHA256 of ``timestamp + apiKey + recvWindow + (query | body)``, a stale or
future timestamp is ``10002``. Post-only is ``timeInForce=PostOnly``; like the venue, one that
would cross is *accepted* and then cancelled (``rejectReason`` ``EC_PostOnlyWillTakeLiquidity``
on the order stream). ``/v5/order/amend`` amends in place. The dead-man switch is Disconnection
Protection: ``/v5/order/disconnected-cancel-all`` sets the window, and when the last private
websocket subscribed to ``dcp`` drops, every order is cancelled after that window unless a new
one subscribes ``dcp`` first. Private stream ``/v5/private``: ``auth``, then ``order``,
``execution``, ``position``, ``wallet`` (and ``dcp``) topics.
"""

from __future__ import annotations

import asyncio
import json
import secrets
import uuid
from decimal import Decimal, InvalidOperation
from typing import Any, ClassVar

from mmcore.testing.fake_venue.ledger import (
    ZERO,
    LedgerEvent,
    MarketSpec,
    Order,
    Reject,
    RejectReason,
)
from mmcore.testing.fake_venue.server import FakeVenue, Reply, RestCall, StreamConn, num

__all__ = ["FakeBybit", "bybit_markets"]

_STATUS = {
    "new": "New",
    "partially_filled": "PartiallyFilled",
    "filled": "Filled",
    "canceled": "Cancelled",
}
POST_ONLY_CANCEL = "EC_PostOnlyWillTakeLiquidity"


def bybit_markets(category: str = "spot") -> list[MarketSpec]:
    """BTCUSDT and ETHUSDT with Bybit-like filters, as ``spot`` or ``linear`` markets."""
    if category == "spot":
        return [
            MarketSpec("BTCUSDT", "BTC", "USDT", "spot", Decimal("0.01"), Decimal("0.000001"),
                       Decimal("0.000048"), Decimal("71"), min_notional=Decimal("1")),
            MarketSpec("ETHUSDT", "ETH", "USDT", "spot", Decimal("0.01"), Decimal("0.00001"),
                       Decimal("0.00062"), Decimal("1229"), min_notional=Decimal("1")),
        ]  # fmt: skip
    return [
        MarketSpec("BTCUSDT", "BTC", "USDT", "linear", Decimal("0.10"), Decimal("0.001"),
                   Decimal("0.001"), Decimal("1190"), min_notional=Decimal("5")),
        MarketSpec("ETHUSDT", "ETH", "USDT", "linear", Decimal("0.01"), Decimal("0.01"),
                   Decimal("0.01"), Decimal("7240"), min_notional=Decimal("5")),
    ]  # fmt: skip


class BybitError(Exception):
    """A Bybit error answer: ``retCode`` and ``retMsg`` (and the HTTP status, 200 mostly)."""

    def __init__(self, code: int, msg: str, status: int = 200) -> None:
        super().__init__(msg)
        self.code, self.msg, self.status = code, msg, status


def _params(allowed: str, mandatory: str = "") -> tuple[frozenset[str], tuple[str, ...]]:
    return frozenset(allowed.split()), tuple(mandatory.split())


_CREATE = _params(
    "category symbol isLeverage side orderType qty marketUnit price timeInForce positionIdx "
    "orderLinkId reduceOnly closeOnTrigger smpType mmp orderFilter",
    "category symbol side orderType qty",
)
_AMEND = _params("category symbol orderId orderLinkId qty price", "category symbol")
_CANCEL = _params("category symbol orderId orderLinkId orderFilter", "category symbol")
_CANCEL_ALL = _params("category symbol baseCoin settleCoin orderFilter", "category")
_ORDERS = _params(
    "category symbol baseCoin settleCoin orderId orderLinkId openOnly orderFilter orderStatus "
    "startTime endTime limit cursor",
    "category",
)
_EXECUTIONS = _params(
    "category symbol orderId orderLinkId baseCoin startTime endTime execType limit cursor",
    "category",
)


class FakeBybit(FakeVenue):
    """Bybit v5, unified account, serving one ``category`` (``spot`` or ``linear``)."""

    ccxt_preset = "bybit"
    order_entry = ("POST", "/v5/order/create")
    routes: ClassVar[dict[tuple[str, str], str]] = {
        ("GET", "/v5/market/time"): "_time",
        ("GET", "/v5/market/instruments-info"): "_instruments",
        ("GET", "/v5/user/query-api"): "_query_api",
        ("GET", "/v5/account/info"): "_account_info",
        ("GET", "/v5/asset/coin/query-info"): "_coins",
        ("POST", "/v5/order/create"): "_create",
        ("POST", "/v5/order/amend"): "_amend",
        ("POST", "/v5/order/cancel"): "_cancel",
        ("POST", "/v5/order/cancel-all"): "_cancel_all",
        ("GET", "/v5/order/realtime"): "_realtime",
        ("GET", "/v5/order/history"): "_history",
        ("GET", "/v5/execution/list"): "_executions",
        ("GET", "/v5/account/wallet-balance"): "_wallet",
        ("GET", "/v5/position/list"): "_positions",
        ("POST", "/v5/order/disconnected-cancel-all"): "_set_dcp",
    }
    public: ClassVar[frozenset[str]] = frozenset({"/v5/market/time", "/v5/market/instruments-info"})

    def __init__(
        self,
        category: str = "spot",
        markets: list[MarketSpec] | None = None,
        *,
        dcp_second_s: float = 1.0,
        **kwargs: Any,
    ) -> None:
        """``dcp_second_s``: how long one second of the DCP window lasts (tests shrink it, the
        venue's minimum window being 3 s)."""
        if category not in ("spot", "linear"):
            raise ValueError(f"category must be 'spot' or 'linear', not {category!r}")
        self.category = category
        self.kind = category
        if category == "linear":
            kwargs.setdefault("maker_fee", Decimal("0.0002"))
            kwargs.setdefault("taker_fee", Decimal("0.00055"))
        super().__init__(markets or bybit_markets(category), **kwargs)
        #: Disconnection Protection window in seconds (None: not configured)
        self.dcp_window_s: int | None = None
        self._dcp_timer: asyncio.TimerHandle | None = None
        #: DCP triggers that fired (venue ms)
        self.dcp_fired: list[int] = []
        self._dcp_second_s = dcp_second_s
        self._seq = 0

    async def stop(self) -> None:
        if self._dcp_timer is not None:
            self._dcp_timer.cancel()
        await super().stop()

    @property
    def private_ws_url(self) -> str:
        """The private stream (ccxt's ``urls['api']['ws']['private']['contract']``)."""
        return f"{self.ws_url}/v5/private"

    # ---- REST dispatch ---------------------------------------------------------------------
    def throttle_reply(self, status: int, retry_after_s: float) -> Reply:
        if status == 418:  # Bybit's IP ban: HTTP 403 and a page, not a retCode
            return Reply(403, "<html><body>403 Forbidden: access too frequent</body></html>",
                         (), 403)  # fmt: skip
        reset = str(self.now_ms() + int(retry_after_s * 1000))
        headers = (("X-Bapi-Limit", "10"), ("X-Bapi-Limit-Status", "0"),
                   ("X-Bapi-Limit-Reset-Timestamp", reset))  # fmt: skip
        return Reply(200, self._envelope(10006, "Too many visits!", {}), headers, 10006)

    def bad_request_reply(self, message: str) -> Reply:
        return Reply(200, self._envelope(10001, f"params error: {message}", {}), (), 10001)

    def route(self, call: RestCall) -> Reply:
        handler = self.routes.get((call.method, call.path))
        if handler is None:
            return Reply(404, {"retCode": 404, "retMsg": f"no route {call.path}"}, (), 404)
        try:
            if call.path not in self.public:
                self._authorise(call)
            result = getattr(self, handler)(dict(call.params))
        except BybitError as err:
            return Reply(err.status, self._envelope(err.code, err.msg, {}), (), err.code)
        headers = ()
        if call.method == "POST":
            reset = str(self.now_ms() + 1000)
            headers = (("X-Bapi-Limit", "10"), ("X-Bapi-Limit-Status", "9"),
                       ("X-Bapi-Limit-Reset-Timestamp", reset))  # fmt: skip
        return Reply(200, self._envelope(0, "OK", result), headers)

    def _envelope(self, code: int, msg: str, result: Any) -> dict[str, Any]:
        return {"retCode": code, "retMsg": msg, "result": result, "retExtInfo": {},
                "time": self.now_ms()}  # fmt: skip

    def _authorise(self, call: RestCall) -> None:
        h = call.headers
        key, ts = h.get("x-bapi-api-key"), h.get("x-bapi-timestamp")
        recv = h.get("x-bapi-recv-window", "5000")
        if not self.check_api_key(key):
            raise BybitError(10003, "API key is invalid.", 401)
        if self.clock_error(ts, recv):
            raise BybitError(
                10002, "invalid request, please check your server timestamp or recv_window param"
            )
        payload = f"{ts}{key}{recv}{call.body if call.method == 'POST' else call.query}"
        if not self.signature_ok(payload, h.get("x-bapi-sign")):
            raise BybitError(10004, "error sign! origin_string[...]", 401)

    def _check(self, params: dict[str, Any], spec: tuple[frozenset[str], tuple[str, ...]]) -> None:
        allowed, mandatory = spec
        extra = sorted(set(params) - allowed)
        if extra:
            raise BybitError(10001, f"params error: unknown parameter {extra[0]}")
        for name in mandatory:
            if params.get(name) in (None, ""):
                raise BybitError(10001, f"params error: {name} is required")

    def _market(self, params: dict[str, Any]) -> MarketSpec:
        symbol = params.get("symbol")
        if params.get("category") != self.category or symbol not in self.ledger.markets:
            raise BybitError(10001, "params error: symbol invalid")
        return self.ledger.markets[symbol]

    def _find(self, params: dict[str, Any]) -> Order:
        order_id, link_id = params.get("orderId"), params.get("orderLinkId")
        if not order_id and not link_id:
            raise BybitError(10001, "params error: orderId or orderLinkId is required")
        try:
            return self.ledger.find(
                order_id=_parse_order_id(order_id) if order_id else None, client_id=link_id
            )
        except Reject:
            raise self._not_found() from None

    def _not_found(self) -> BybitError:
        if self.category == "spot":
            return BybitError(170213, "Order does not exist.")
        return BybitError(110001, "order not exists or too late to cancel")

    # ---- REST handlers ---------------------------------------------------------------------
    def _time(self, params: dict[str, Any]) -> Any:
        now = self.now_ms()
        return {"timeSecond": str(now // 1000), "timeNano": str(now * 1_000_000)}

    def _instruments(self, params: dict[str, Any]) -> Any:
        category = params.get("category")
        trading = params.get("status", "Trading") == "Trading"  # nothing pre-launch here
        markets = self.ledger.markets.values() if category == self.category and trading else []
        if "symbol" in params:
            markets = [m for m in markets if m.symbol == params["symbol"]]
        views = [self._instrument(m) for m in markets]
        return {"category": category, "list": views, "nextPageCursor": ""}

    def _instrument(self, m: MarketSpec) -> dict[str, Any]:
        if self.category == "spot":
            return {
                "symbol": m.symbol, "baseCoin": m.base, "quoteCoin": m.quote,
                "innovation": "0", "status": "Trading", "marginTrading": "none",
                "stTag": "0",
                "lotSizeFilter": {"basePrecision": num(m.lot), "quotePrecision": "0.00000001",
                                  "minOrderQty": num(m.min_qty), "maxOrderQty": num(m.max_qty),
                                  "minOrderAmt": num(m.min_notional), "maxOrderAmt": "2000000"},
                "priceFilter": {"tickSize": num(m.tick)},
                "riskParameters": {"priceLimitRatioX": "0.05", "priceLimitRatioY": "0.05"},
            }  # fmt: skip
        return {
            "symbol": m.symbol, "contractType": "LinearPerpetual", "status": "Trading",
            "baseCoin": m.base, "quoteCoin": m.quote, "launchTime": "1585526400000",
            "deliveryTime": "0", "deliveryFeeRate": "", "priceScale": "2",
            "leverageFilter": {"minLeverage": "1", "maxLeverage": "100.00",
                               "leverageStep": "0.01"},
            "priceFilter": {"minPrice": num(m.min_price), "maxPrice": num(m.max_price),
                            "tickSize": num(m.tick)},
            "lotSizeFilter": {"maxOrderQty": num(m.max_qty), "minOrderQty": num(m.min_qty),
                              "qtyStep": num(m.lot), "postOnlyMaxOrderQty": num(m.max_qty),
                              "maxMktOrderQty": num(m.max_qty),
                              "minNotionalValue": num(m.min_notional)},
            "unifiedMarginTrade": True, "fundingInterval": 480, "settleCoin": m.quote,
            "copyTrading": "both", "upperFundingRate": "0.005", "lowerFundingRate": "-0.005",
            "isPreListing": False, "preListingInfo": None,
        }  # fmt: skip

    def _query_api(self, params: dict[str, Any]) -> Any:
        # the key's own description; like the venue, the secret is never echoed
        return {"id": "1", "note": "fake", "apiKey": self.api_key, "readOnly": 0,
                "secret": "", "permissions": {"Spot": ["SpotTrade"],
                "ContractTrade": ["Order", "Position"], "Wallet": [], "Options": [],
                "Derivatives": [], "CopyTrading": [], "BlockTrade": [], "Exchange": [],
                "NFT": []}, "ips": ["*"], "type": 1, "deadlineDay": 90,
                "expiredAt": "", "createdAt": "", "unified": 0, "uta": 1, "userID": 1,
                "inviterID": 0, "vipLevel": "No VIP", "mktMakerLevel": "0",
                "affiliateID": 0, "rsaPublicKey": "", "isMaster": True}  # fmt: skip

    def _coins(self, params: dict[str, Any]) -> Any:
        # ccxt's load_markets calls this whenever it has keys (options['fetchCurrencies'] is
        # Binance's switch, Bybit's fetch_currencies does not read it)
        coins = sorted({a for m in self.ledger.markets.values() for a in (m.base, m.quote)})
        chain = {"chainType": "fake", "confirmation": "1", "withdrawFee": "0", "depositMin": "0",
                 "withdrawMin": "0", "chain": "fake", "chainDeposit": "1", "chainWithdraw": "1",
                 "minAccuracy": "8", "withdrawPercentageFee": "0"}  # fmt: skip
        return {"rows": [{"name": c, "coin": c, "remainAmount": "1000000", "chains": [chain]}
                         for c in coins]}  # fmt: skip

    def _account_info(self, params: dict[str, Any]) -> Any:
        return {"unifiedMarginStatus": 6, "marginMode": "REGULAR_MARGIN", "isMasterTrader": False,
                "spotHedgingStatus": "OFF", "updatedTime": str(self.now_ms()),
                "dcpStatus": "ON" if self.dcp_window_s else "OFF",
                "timeWindow": self.dcp_window_s or 0, "smpGroup": 0}  # fmt: skip

    def _create(self, params: dict[str, Any]) -> Any:
        self._check(params, _CREATE)
        market = self._market(params)
        side = {"Buy": "buy", "Sell": "sell"}.get(params["side"])
        if side is None:
            raise BybitError(10001, "params error: side invalid")
        if params["orderType"] != "Limit":
            raise BybitError(10001, "params error: only Limit orders are served by this fake")
        qty, price = _decimal(params, "qty"), _decimal(params, "price")
        tif = params.get("timeInForce", "GTC")
        if tif not in ("GTC", "PostOnly"):
            raise BybitError(10001, f"params error: timeInForce {tif} not served by this fake")
        link_id = params.get("orderLinkId") or secrets.token_hex(12)
        if len(link_id) > 36:
            raise BybitError(10001, "params error: orderLinkId is too long (max 36)")
        reduce_only = params.get("reduceOnly") in (True, "true")
        post_only = tif == "PostOnly"
        crossing = post_only and (
            self.take_post_only_reject() or self.ledger.would_cross(market.symbol, side, price)
        )
        try:
            order = self.ledger.place(market.symbol, side, qty, price, link_id,
                                      post_only=post_only and not crossing,
                                      reduce_only=reduce_only)  # fmt: skip
        except Reject as err:
            raise self._reject(err) from None
        if crossing:  # accepted, then cancelled by the venue: the stream says why
            order.post_only = True
            self.ledger.cancel(order, reason=POST_ONLY_CANCEL)
        return {"orderId": _order_id(order), "orderLinkId": order.client_id}

    def _amend(self, params: dict[str, Any]) -> Any:
        self._check(params, _AMEND)
        self._market(params)
        order = self._find(params)
        qty = _decimal(params, "qty") if "qty" in params else None
        price = _decimal(params, "price") if "price" in params else None
        if qty is None and price is None:
            raise BybitError(10001, "params error: nothing to amend")
        try:
            self.ledger.amend(order, qty=qty, price=price)
        except Reject as err:
            if err.reason is RejectReason.UNKNOWN_ORDER:
                raise self._not_found() from None
            if err.reason is RejectReason.WOULD_CROSS:
                raise BybitError(110079, "the order is processing and can not be operated, "
                                         "please try again later") from None  # fmt: skip
            raise self._reject(err) from None
        return {"orderId": _order_id(order), "orderLinkId": order.client_id}

    def _cancel(self, params: dict[str, Any]) -> Any:
        self._check(params, _CANCEL)
        self._market(params)
        order = self._find(params)
        try:
            self.ledger.cancel(order)
        except Reject:
            raise self._not_found() from None
        return {"orderId": _order_id(order), "orderLinkId": order.client_id}

    def _cancel_all(self, params: dict[str, Any]) -> Any:
        self._check(params, _CANCEL_ALL)
        symbol = self._market(params).symbol if "symbol" in params else None
        canceled = self.ledger.cancel_all(symbol)
        return {"list": [{"orderId": _order_id(o), "orderLinkId": o.client_id} for o in canceled],
                "success": "1"}  # fmt: skip

    def _realtime(self, params: dict[str, Any]) -> Any:
        self._check(params, _ORDERS)
        if params["category"] != self.category:
            orders = []
        elif params.get("orderId") or params.get("orderLinkId"):
            try:
                orders = [self._find(params)]
            except BybitError:
                orders = []
        else:
            symbol = self._market(params).symbol if "symbol" in params else None
            orders = list(reversed(self.ledger.open_orders(symbol)))
        return self._order_list(orders)

    def _history(self, params: dict[str, Any]) -> Any:
        self._check(params, _ORDERS)
        orders = [o for o in reversed(self.ledger.orders.values()) if not o.is_open]
        if params["category"] != self.category:
            orders = []
        if "symbol" in params:
            orders = [o for o in orders if o.symbol == params["symbol"]]
        if params.get("orderLinkId"):
            orders = [o for o in orders if o.client_id == params["orderLinkId"]]
        if params.get("orderId"):
            orders = [o for o in orders if _order_id(o) == params["orderId"]]
        return self._order_list(orders[: int(params.get("limit", 20))])

    def _order_list(self, orders: list[Order]) -> Any:
        views = [self._order_view(o) for o in orders]
        return {"category": self.category, "list": views, "nextPageCursor": ""}

    def _executions(self, params: dict[str, Any]) -> Any:
        self._check(params, _EXECUTIONS)
        order_id = params.get("orderId")
        fills = self.ledger.select_fills(
            symbol=params.get("symbol"),
            # an id that is no UUID matches nothing
            order_id=(_parse_order_id(order_id) or -1) if order_id else None,
            client_id=params.get("orderLinkId") or None,
            start_ms=int(params["startTime"]) if "startTime" in params else None,
            end_ms=int(params["endTime"]) if "endTime" in params else None,
        )
        fills = [] if params["category"] != self.category else fills[::-1]  # newest first
        views = [self._execution_view(f) for f in fills[: int(params.get("limit", 50))]]
        return {"category": self.category, "list": views, "nextPageCursor": ""}

    def _wallet(self, params: dict[str, Any]) -> Any:
        if params.get("accountType") != "UNIFIED":
            raise BybitError(10001, "accountType only support UNIFIED.")
        return {"list": [self._wallet_view()]}

    def _positions(self, params: dict[str, Any]) -> Any:
        self._check(params, _params("category symbol baseCoin settleCoin limit cursor", "category"))
        if params["category"] == "spot":
            raise BybitError(10001, "params error: category only support linear or option")
        if params["category"] != self.category:
            symbols = []
        elif "symbol" in params:
            symbols = [self._market(params).symbol]
        else:
            symbols = sorted(s for s, p in self.ledger.positions.items() if p.qty)  # fmt: skip
        views = [self._position_view(s) for s in symbols]
        return {"category": "linear", "list": views, "nextPageCursor": ""}

    def _set_dcp(self, params: dict[str, Any]) -> Any:
        try:
            window = int(params.get("timeWindow", ""))
        except ValueError:
            raise BybitError(10001, "params error: timeWindow") from None
        if not 3 <= window <= 300:
            raise BybitError(10001, "params error: timeWindow must be within [3, 300]")
        self.dcp_window_s = window
        return {}

    def _reject(self, err: Reject) -> BybitError:
        spot = self.category == "spot"
        reason = err.reason
        if reason is RejectReason.DUPLICATE_CLIENT_ID:
            return BybitError(170141 if spot else 110072, "Duplicate clientOrderId."
                              if spot else "OrderLinkedID is duplicate")  # fmt: skip
        if reason is RejectReason.INSUFFICIENT_BALANCE:
            return BybitError(170131, "Insufficient balance.") if spot else BybitError(
                110007, "ab not enough for new order")  # fmt: skip
        if reason is RejectReason.REDUCE_ONLY:
            return BybitError(110017, "Reduce-only rule not satisfied")
        if reason is RejectReason.PRICE_FILTER:
            return BybitError(170134 if spot else 10001, "Order price decimal too long.")
        if reason is RejectReason.LOT_SIZE:
            return BybitError(170137 if spot else 10001, "Order volume decimal too long")
        if reason is RejectReason.MIN_NOTIONAL:
            return BybitError(170140 if spot else 110094, "Order value below the lower limit")
        return self._not_found()

    # ---- views -----------------------------------------------------------------------------
    def _order_view(self, o: Order) -> dict[str, Any]:
        status = _STATUS[o.status]
        if o.status == "canceled" and o.filled and self.category == "spot":
            status = "PartiallyFilledCanceled"
        leaves = o.remaining if o.is_open else ZERO
        return {
            "orderId": _order_id(o), "orderLinkId": o.client_id, "blockTradeId": "",
            "symbol": o.symbol, "price": num(o.price), "qty": num(o.qty),
            "side": o.side.capitalize(), "isLeverage": "0", "positionIdx": 0,
            "orderStatus": status, "cancelType": "UNKNOWN",
            "rejectReason": o.cancel_reason or "EC_NoError",
            "avgPrice": num(o.avg_price) if o.filled else "",
            "leavesQty": num(leaves), "leavesValue": num(leaves * o.price),
            "cumExecQty": num(o.filled), "cumExecValue": num(o.filled_quote),
            "cumExecFee": num(sum((f.fee for f in self.ledger.fills
                                   if f.order_id == o.order_id), ZERO)),
            "timeInForce": "PostOnly" if o.post_only else "GTC", "orderType": "Limit",
            "stopOrderType": "", "orderIv": "", "triggerPrice": "0", "takeProfit": "0",
            "stopLoss": "0", "tpTriggerBy": "", "slTriggerBy": "", "triggerDirection": 0,
            "triggerBy": "", "lastPriceOnCreated": "", "reduceOnly": o.reduce_only,
            "closeOnTrigger": False, "smpType": "None", "smpGroup": 0, "smpOrderId": "",
            "tpslMode": "", "tpLimitPrice": "", "slLimitPrice": "", "placeType": "",
            "createdTime": str(o.created_ms), "updatedTime": str(o.updated_ms),
        }  # fmt: skip

    def _execution_view(self, f: Any) -> dict[str, Any]:
        order = self.ledger.orders[f.order_id]
        return {
            "symbol": f.symbol, "orderId": str(uuid.UUID(int=f.order_id)),
            "orderLinkId": f.client_id, "side": f.side.capitalize(),
            "orderPrice": num(order.price), "orderQty": num(order.qty),
            "leavesQty": num(order.remaining), "createType": "CreateByUser",
            "orderType": "Limit", "stopOrderType": "", "execFee": num(f.fee),
            "execId": str(uuid.UUID(int=f.trade_id)), "execPrice": num(f.price),
            "execQty": num(f.qty), "execType": "Trade", "execValue": num(f.qty * f.price),
            "execTime": str(f.time_ms), "feeCurrency": f.fee_asset, "isMaker": f.maker,
            "feeRate": num(self.ledger.maker_fee if f.maker else self.ledger.taker_fee),
            "tradeIv": "", "markIv": "", "markPrice": num(f.price), "indexPrice": "",
            "underlyingPrice": "", "blockTradeId": "", "closedSize": "",
            "execPnl": num(f.realized_pnl), "seq": f.trade_id,
        }  # fmt: skip

    def _position_view(self, symbol: str) -> dict[str, Any]:
        p = self.ledger.position(symbol)
        side = "Buy" if p.qty > 0 else "Sell" if p.qty < 0 else ""
        value = abs(p.qty) * p.entry
        return {
            "positionIdx": 0, "riskId": 1, "riskLimitValue": "2000000", "symbol": symbol,
            "side": side, "size": num(abs(p.qty)), "avgPrice": num(p.entry),
            "positionValue": num(value), "tradeMode": 0, "autoAddMargin": 0,
            "positionStatus": "Normal", "leverage": "10", "markPrice": num(p.entry),
            "liqPrice": "", "bustPrice": "", "positionIM": num(value / 10),
            "positionMM": "0", "positionBalance": "0", "takeProfit": "0", "stopLoss": "0",
            "trailingStop": "0", "sessionAvgPrice": "", "delta": "", "gamma": "",
            "vega": "", "theta": "", "unrealisedPnl": "0", "curRealisedPnl": num(p.realized),
            "cumRealisedPnl": num(p.realized), "adlRankIndicator": 2 if p.qty else 0,
            "createdTime": "1700000000000", "updatedTime": str(self.now_ms()),
            "seq": self._seq, "isReduceOnly": False, "mmrSysUpdatedTime": "",
            "leverageSysUpdatedTime": "",
        }  # fmt: skip

    def _wallet_view(self, assets: tuple[str, ...] | None = None) -> dict[str, Any]:
        balances = self.ledger.balances
        names = sorted(balances) if assets is None else list(assets)
        coins = []
        for a in names:
            b = self.ledger.balance(a)
            total = b.free + b.locked
            coins.append({
                "coin": a, "equity": num(total), "usdValue": num(total),
                "walletBalance": num(total), "free": num(b.free), "locked": num(b.locked),
                "availableToWithdraw": num(b.free), "availableToBorrow": "",
                "borrowAmount": "0", "accruedInterest": "0", "totalOrderIM": "0",
                "totalPositionIM": "0", "totalPositionMM": "0", "unrealisedPnl": "0",
                "cumRealisedPnl": "0", "bonus": "0", "collateralSwitch": True,
                "marginCollateral": True, "spotHedgingQty": "0",
            })  # fmt: skip
        total = num(sum((b.free + b.locked for b in balances.values()), ZERO))
        return {
            "accountType": "UNIFIED", "totalEquity": total, "totalWalletBalance": total,
            "totalMarginBalance": total, "totalAvailableBalance": total,
            "totalPerpUPL": "0", "totalInitialMargin": "0", "totalMaintenanceMargin": "0",
            "accountIMRate": "0", "accountMMRate": "0", "accountLTV": "0", "coin": coins,
        }  # fmt: skip

    # ---- private stream --------------------------------------------------------------------
    def stream_messages(self, event: LedgerEvent) -> list[tuple[str, str, bool]]:
        self._seq += 1
        order = self._order_view(event.order) | {"category": self.category}
        frames = [("order", self._topic_frame("order", [order]), False)]
        if event.fill is not None:
            execution = self._execution_view(event.fill) | {"category": self.category}
            frames.append(("execution", self._topic_frame("execution", [execution]), True))
        for symbol in event.symbols:
            position = self._position_view(symbol) | {"category": "linear"}
            frames.append(("position", self._topic_frame("position", [position]), False))
        if event.assets:
            wallet = self._wallet_view(event.assets)
            frames.append(("wallet", self._topic_frame("wallet", [wallet]), False))
        return frames

    def _topic_frame(self, topic: str, data: list[dict[str, Any]]) -> str:
        return json.dumps({"id": secrets.token_hex(8), "topic": topic,
                           "creationTime": self.now_ms(), "data": data},
                          separators=(",", ":"))  # fmt: skip

    async def stream_session(self, conn: StreamConn) -> None:
        if conn.path.split("?")[0] != "/v5/private":
            await conn.ws.close(1008, "unknown path")
            return
        conn_id = secrets.token_hex(8)
        try:
            async for raw in conn.ws:
                try:
                    message = json.loads(raw)
                    op = message["op"]
                except (ValueError, KeyError, TypeError):
                    conn.send(json.dumps({"success": False, "ret_msg": "Invalid request",
                                          "conn_id": conn_id}))  # fmt: skip
                    continue
                args = message.get("args") or []
                reply = {"success": True, "ret_msg": "", "op": op, "conn_id": conn_id}
                if "req_id" in message:
                    reply["req_id"] = message["req_id"]
                if op == "ping":
                    reply |= {"op": "pong", "args": [str(self.now_ms())]}
                elif op == "auth":
                    self.log_ws_request("/v5/private", "auth", {})
                    if not self._ws_auth(args):
                        reply |= {"success": False, "ret_msg": "Request not authorized"}
                    conn.authed = bool(reply["success"])
                elif op == "subscribe":
                    self.log_ws_request("/v5/private", "subscribe", {"args": ",".join(args)})
                    if not conn.authed:
                        reply |= {"success": False, "ret_msg": "Request not authorized"}
                    else:
                        conn.topics.update(args)
                        if "dcp" in args:
                            self._dcp_alive()
                elif op == "unsubscribe":
                    conn.topics.difference_update(args)
                else:
                    reply |= {"success": False, "ret_msg": f"unknown op {op}"}
                conn.send(json.dumps(reply, separators=(",", ":")))
        finally:
            if "dcp" in conn.topics:
                conn.topics.discard("dcp")
                self._dcp_maybe_arm(conn)

    def _ws_auth(self, args: list[Any]) -> bool:
        """``[apiKey, expires, hex HMAC of "GET/realtime" + expires]``, expires in the future."""
        if len(args) != 3 or not self.check_api_key(str(args[0])):
            return False
        try:
            expires = int(args[1])
        except (TypeError, ValueError):
            return False
        return expires > self.now_ms() and self.signature_ok(f"GET/realtime{args[1]}", args[2])

    def _dcp_alive(self) -> None:
        if self._dcp_timer is not None:
            self._dcp_timer.cancel()
            self._dcp_timer = None

    def _dcp_maybe_arm(self, closing: StreamConn) -> None:
        """The last ``dcp`` subscriber went away: cancel everything after the window."""
        if self.dcp_window_s is None:
            return
        if any("dcp" in c.topics for c in self.streams if c is not closing):
            return

        def fire() -> None:
            self._dcp_timer = None
            self.dcp_fired.append(self.now_ms())
            self.ledger.cancel_all()

        self._dcp_timer = self.later(self.dcp_window_s * self._dcp_second_s, fire)


def _order_id(order: Order) -> str:
    return str(uuid.UUID(int=order.order_id))


def _parse_order_id(text: str) -> int | None:
    try:
        return uuid.UUID(text).int
    except ValueError:
        return None


def _decimal(params: dict[str, Any], name: str) -> Decimal:
    try:
        value = Decimal(str(params.get(name, "")))
    except InvalidOperation:
        raise BybitError(10001, f"params error: {name} invalid") from None
    if not value.is_finite() or value <= 0:
        raise BybitError(10001, f"params error: {name} invalid")
    return value
