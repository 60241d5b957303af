"""What the fake Binance spot and USD-M venues share: the signing and clock checks, the
parameter allow-lists, the error answers, request weight and order-count headers, and the
Binance-like markets.

Both check the ``X-MBX-APIKEY`` key, the HMAC-SHA256 signature of query string + body, the
timestamp against ``recvWindow`` (``-1021``) and refuse parameters they do not know (``-1104``).
Every answer carries ``X-MBX-USED-WEIGHT-1M``; order requests ``X-MBX-ORDER-COUNT-10S``/``-1D``.
"""

from __future__ import annotations

import re
import secrets
from collections import deque
from collections.abc import Callable
from decimal import Decimal, InvalidOperation
from typing import Any, ClassVar

from mmcore.testing.fake_venue.ledger import (
    MarketSpec,
    Order,
    Reject,
    RejectReason,
)
from mmcore.testing.fake_venue.server import (
    FakeVenue,
    Reply,
    RestCall,
    num,
)

__all__ = [
    "ORDER_STATUS",
    "TRADES_PARAMS",
    "BinanceError",
    "BinanceFamily",
    "Route",
    "bad",
    "binance_markets",
    "decimal_param",
    "endpoint",
    "filter_reject",
    "price_and_lot_filters",
]

_CLIENT_ID = re.compile(r"^[.A-Z:/a-z0-9_-]{1,36}$")
_SIGNED = {"timestamp", "recvWindow", "signature"}
ORDER_STATUS = {
    "new": "NEW",
    "partially_filled": "PARTIALLY_FILLED",
    "filled": "FILLED",
    "canceled": "CANCELED",
}


def binance_markets(kind: str = "spot") -> list[MarketSpec]:
    """BTCUSDT and ETHUSDT with Binance-like filters, as ``spot`` or ``linear`` markets."""
    if kind == "spot":
        return [
            MarketSpec(
                "BTCUSDT",
                "BTC",
                "USDT",
                "spot",
                Decimal("0.01"),
                Decimal("0.00001"),
                Decimal("0.00001"),
                min_notional=Decimal("5"),
            ),
            MarketSpec(
                "ETHUSDT",
                "ETH",
                "USDT",
                "spot",
                Decimal("0.01"),
                Decimal("0.0001"),
                Decimal("0.0001"),
                min_notional=Decimal("5"),
            ),
        ]
    return [
        MarketSpec(
            "BTCUSDT",
            "BTC",
            "USDT",
            "linear",
            Decimal("0.10"),
            Decimal("0.001"),
            Decimal("0.001"),
            Decimal("1000"),
            min_notional=Decimal("100"),
        ),
        MarketSpec(
            "ETHUSDT",
            "ETH",
            "USDT",
            "linear",
            Decimal("0.01"),
            Decimal("0.001"),
            Decimal("0.001"),
            Decimal("10000"),
            min_notional=Decimal("20"),
        ),
    ]


class BinanceError(Exception):
    """A Binance error answer: HTTP status, ``code`` and ``msg``."""

    def __init__(self, status: int, code: int, msg: str) -> None:
        super().__init__(msg)
        self.status, self.code, self.msg = status, code, msg


def bad(code: int, msg: str, status: int = 400) -> BinanceError:
    """A Binance error answer (HTTP 400 unless said otherwise)."""
    return BinanceError(status, code, msg)


# route key → (weight, allowed params besides the signing ones, mandatory params)
Route = tuple[int, frozenset[str], tuple[str, ...]]


def endpoint(weight: int, allowed: str, mandatory: str = "") -> Route:
    """A route's weight, the parameters it reads and those it requires (space-separated)."""
    return weight, frozenset(allowed.split()), tuple(mandatory.split())


# the parameters every trade-history endpoint reads
TRADES_PARAMS = "symbol orderId startTime endTime fromId limit"


class BinanceFamily(FakeVenue):
    """What Binance spot and USD-M share: signing, errors, weights, the order views."""

    prefix = "/api/v3"
    #: path (after the version prefix) → handler name, per method
    routes: ClassVar[dict[tuple[str, str], tuple[str, Route]]] = {}
    public: ClassVar[frozenset[str]] = frozenset({"time", "exchangeInfo", "ping", "24hr"})

    def __init__(self, markets: list[MarketSpec] | None = None, **kwargs: Any) -> None:
        super().__init__(markets or binance_markets(self.kind), **kwargs)
        self._weights: deque[tuple[int, int]] = deque()
        self._order_times: deque[int] = deque()
        self._orders_today = 0
        self._cancel_ids = 0
        #: published in exchangeInfo and enforced: beyond them the venue answers 429
        self.weight_limit_1m = 6000
        self.order_limit_10s = 100

    # ---- usage ------------------------------------------------------------------------------
    def used_weight(self) -> int:
        """Request weight used in the last minute (as ``X-MBX-USED-WEIGHT-1M`` reports it)."""
        now = self.now_ms()
        while self._weights and self._weights[0][0] <= now - 60_000:
            self._weights.popleft()
        return sum(w for _, w in self._weights)

    def _usage_headers(self, weight: int, is_order: bool) -> tuple[tuple[str, str], ...]:
        now = self.now_ms()
        self._weights.append((now, weight))
        headers = [("X-MBX-USED-WEIGHT-1M", str(self.used_weight()))]
        if is_order:
            self._order_times.append(now)
            self._orders_today += 1
            while self._order_times and self._order_times[0] <= now - 10_000:
                self._order_times.popleft()
            headers += [
                ("X-MBX-ORDER-COUNT-10S", str(len(self._order_times))),
                ("X-MBX-ORDER-COUNT-1D", str(self._orders_today)),
            ]
        return tuple(headers)

    def _over_limit(self, is_order: bool) -> tuple[int, str] | None:
        """The venue's 429 when the request went over the published weight or order limit."""
        if self.used_weight() > self.weight_limit_1m:
            return -1003, (f"Too much request weight used; current limit is "
                           f"{self.weight_limit_1m} request weight per 1 MINUTE.")  # fmt: skip
        if is_order and len(self._order_times) > self.order_limit_10s:
            return -1015, (f"Too many new orders; current limit is {self.order_limit_10s} "
                           "orders per TEN_SECONDS.")  # fmt: skip
        return None

    def throttle_reply(self, status: int, retry_after_s: float) -> Reply:
        if status == 418:
            msg = f"Way too many requests; IP(127.0.0.1) banned until {self.banned_until_ms}."
        else:
            msg = "Too many requests; current limit of IP(127.0.0.1) is 6000 per minute."
        retry = str(max(1, round(retry_after_s)))
        return Reply(status, {"code": -1003, "msg": msg}, (("Retry-After", retry),), -1003)

    def bad_request_reply(self, message: str) -> Reply:
        return Reply(400, {"code": -1100, "msg": f"Illegal characters found in a parameter. "
                                                 f"({message})"}, (), -1100)  # fmt: skip

    # ---- dispatch ---------------------------------------------------------------------------
    def route(self, call: RestCall) -> Reply:
        key = self._route_key(call.path)
        entry = self.routes.get((call.method, key)) if key is not None else None
        if entry is None:
            return Reply(404, {"code": -1, "msg": f"no route {call.method} {call.path}"}, (), -1)
        handler_name, (weight, allowed, mandatory) = entry
        is_order = call.method in ("POST", "PUT") and key in ("order", "v1/order")
        headers = self._usage_headers(weight, is_order)
        over = self._over_limit(is_order)
        if over is not None:
            code, msg = over
            return Reply(429, {"code": code, "msg": msg}, (*headers, ("Retry-After", "1")), code)
        try:
            params = self._authorise(call, key)
            extra = set(params) - allowed - _SIGNED
            if extra:
                sent, read = len(call.params), len(call.params) - len(extra)
                raise bad(
                    -1104,
                    f"Not all sent parameters were read; read '{read}' "
                    f"parameter(s) but was sent '{sent}'.",
                )
            for name in mandatory:
                if not params.get(name):
                    raise bad(
                        -1102,
                        f"Mandatory parameter '{name}' was not sent, was empty/null, or malformed.",
                    )
            body = getattr(self, handler_name)(params)
        except BinanceError as err:
            return Reply(err.status, {"code": err.code, "msg": err.msg}, headers, err.code)
        return Reply(200, body, headers)

    def _route_key(self, path: str) -> str | None:
        if not path.startswith(self.prefix + "/"):
            return None
        return path[len(self.prefix) + 1 :]

    def _authorise(self, call: RestCall, key: str) -> dict[str, Any]:
        """Public routes pass; listenKey routes need the key; the rest a valid signature."""
        name = key.rpartition("/")[2]
        if name in self.public:
            return dict(call.params)
        if not self.check_api_key(call.headers.get("x-mbx-apikey")):
            raise bad(-2015, "Invalid API-key, IP, or permissions for action.", 401)
        if name in ("listenKey", "userDataStream"):
            return dict(call.params)
        recv = call.params.get("recvWindow")
        if recv is not None and (not str(recv).isdigit() or int(recv) > 60_000):
            raise bad(-1131, "recvWindow must be less than 60000")
        if self.clock_error(call.params.get("timestamp"), recv):
            raise bad(-1021, "Timestamp for this request is outside of the recvWindow.")
        payload = _strip_signature(call.query) + _strip_signature(call.body)
        if not self.signature_ok(payload, call.params.get("signature")):
            raise bad(-1022, "Signature for this request is not valid.")
        return {k: v for k, v in call.params.items() if k != "signature"}

    # ---- shared helpers ---------------------------------------------------------------------
    def _market(self, params: dict[str, Any]) -> MarketSpec:
        symbol = params.get("symbol", "")
        if symbol not in self.ledger.markets:
            raise bad(-1121, "Invalid symbol.")
        return self.ledger.markets[symbol]

    def _lookup(self, params: dict[str, Any], missing: int, msg: str) -> Order:
        market = self._market(params)
        order_id, client_id = params.get("orderId"), params.get("origClientOrderId")
        if order_id is None and client_id is None:
            raise bad(
                -1102,
                "Param 'origClientOrderId' or 'orderId' must be sent, but both were empty/null!",
            )
        try:
            order = self.ledger.find(
                order_id=int(order_id) if order_id is not None else None, client_id=client_id
            )
        except (Reject, ValueError):
            raise bad(missing, msg) from None
        if order.symbol != market.symbol:
            raise bad(missing, msg)
        return order

    def _order_view(self, o: Order) -> dict[str, Any]:
        """The venue's JSON view of an order (spot and USD-M differ)."""
        raise NotImplementedError

    def _cancel_order(self, params: dict[str, Any]) -> Order:
        """Cancel the order named by ``orderId``/``origClientOrderId``; -2011 when it is
        unknown or already final."""
        order = self._lookup(params, -2011, "Unknown order sent.")
        try:
            self.ledger.cancel(order)
        except Reject:
            raise bad(-2011, "Unknown order sent.") from None
        return order

    def _query(self, params: dict[str, Any]) -> Any:
        return self._order_view(self._lookup(params, -2013, "Order does not exist."))

    def _open(self, params: dict[str, Any]) -> Any:
        symbol = self._market(params).symbol if "symbol" in params else None
        return [self._order_view(o) for o in self.ledger.open_orders(symbol)]

    def _place_args(self, params: dict[str, Any]) -> tuple[MarketSpec, str, Decimal, Decimal, str]:
        market = self._market(params)
        side = params.get("side", "")
        if side not in ("BUY", "SELL"):
            raise bad(-1117, "Invalid side.")
        qty, price = decimal_param(params, "quantity"), decimal_param(params, "price")
        client_id = params.get("newClientOrderId") or f"x-fake{secrets.token_hex(8)}"
        if not _CLIENT_ID.match(client_id):
            raise bad(
                -1100,
                "Illegal characters found in parameter 'newClientOrderId'; legal "
                "range is '^[\\.A-Z\\:/a-z0-9_-]{1,36}$'.",
            )
        return market, side.lower(), qty, price, client_id

    def _trades(self, params: dict[str, Any]) -> list[Any]:
        market = self._market(params)
        fills = self.ledger.select_fills(
            symbol=market.symbol,
            order_id=_int_param(params, "orderId"),
            from_trade_id=_int_param(params, "fromId"),
            start_ms=_int_param(params, "startTime"),
            end_ms=_int_param(params, "endTime"),
        )
        return fills[: min(_int_param(params, "limit") or 500, 1000)]

    def _exchange_info(self, filters: Callable[[MarketSpec], list[dict[str, Any]]]) -> Any:
        return {
            "timezone": "UTC",
            "serverTime": self.now_ms(),
            "rateLimits": [
                {
                    "rateLimitType": "REQUEST_WEIGHT",
                    "interval": "MINUTE",
                    "intervalNum": 1,
                    "limit": self.weight_limit_1m,
                },
                {
                    "rateLimitType": "ORDERS",
                    "interval": "SECOND",
                    "intervalNum": 10,
                    "limit": self.order_limit_10s,
                },
                {"rateLimitType": "ORDERS", "interval": "DAY", "intervalNum": 1, "limit": 200000},
            ],
            "exchangeFilters": [],
            "symbols": [self._symbol_info(m, filters(m)) for m in self.ledger.markets.values()],
        }

    def _symbol_info(self, m: MarketSpec, filters: list[dict[str, Any]]) -> dict[str, Any]:
        raise NotImplementedError

    def _time(self, params: dict[str, Any]) -> Any:
        return {"serverTime": self.now_ms()}

    def _event_base(self, name: str) -> dict[str, Any]:
        return {"e": name, "E": self.now_ms()}

    def _next_cancel_id(self) -> str:
        self._cancel_ids += 1
        return f"cancel{self._cancel_ids:08d}"


def decimal_param(params: dict[str, Any], name: str) -> Decimal:
    """A positive finite decimal parameter, else the venue's -1102."""
    try:
        value = Decimal(str(params.get(name, "")))
    except InvalidOperation:
        raise bad(
            -1102, f"Mandatory parameter '{name}' was not sent, was empty/null, or malformed."
        ) from None
    if not value.is_finite() or value <= 0:
        raise bad(
            -1102, f"Mandatory parameter '{name}' was not sent, was empty/null, or malformed."
        )
    return value


def _int_param(params: dict[str, Any], name: str) -> int | None:
    """An integer parameter, None when absent; a malformed one raises ValueError (→ -1100)."""
    value = params.get(name)
    return None if value is None else int(value)


def _strip_signature(raw: str) -> str:
    """The signed part of a query string or form body: everything before ``&signature=``."""
    head, sep, _ = raw.partition("signature=")
    return head[:-1] if sep and head.endswith("&") else ("" if sep else raw)


# ledger refusal → (spot answer, USD-M answer), as the venues word them
_REJECTS: dict[RejectReason, tuple[tuple[int, str], tuple[int, str]]] = {
    RejectReason.PRICE_FILTER: (
        (-1013, "Filter failure: PRICE_FILTER"),
        (-4014, "Price not increased by tick size."),
    ),
    RejectReason.LOT_SIZE: (
        (-1013, "Filter failure: LOT_SIZE"),
        (-1111, "Precision is over the maximum defined for this asset."),
    ),
    RejectReason.MIN_NOTIONAL: (
        (-1013, "Filter failure: NOTIONAL"),
        (-4164, "Order's notional must be no smaller than 5 (unless you choose reduce only)."),
    ),
    RejectReason.INSUFFICIENT_BALANCE: (
        (-2010, "Account has insufficient balance for requested action."),
        (-2019, "Margin is insufficient."),
    ),
    RejectReason.REDUCE_ONLY: (
        (-2022, "ReduceOnly Order is rejected."),
        (-2022, "ReduceOnly Order is rejected."),
    ),
    RejectReason.DUPLICATE_CLIENT_ID: (
        (-2010, "Duplicate order sent."),
        (-4116, "ClientOrderId is duplicated."),
    ),
    RejectReason.WOULD_CROSS: (
        (-2010, "Order would immediately match and take."),
        (
            -5022,
            "Due to the order could not be executed as maker, the Post Only order will be "
            "rejected. The order will not be recorded in the order history",
        ),
    ),
    RejectReason.UNKNOWN_ORDER: (
        (-2011, "Unknown order sent."),
        (-2011, "Unknown order sent."),
    ),
}


def filter_reject(err: Reject, futures: bool) -> BinanceError:
    """The spot or USD-M error answer for a ledger refusal."""
    code, msg = _REJECTS[err.reason][futures]
    return bad(code, msg)


def price_and_lot_filters(m: MarketSpec) -> list[dict[str, Any]]:
    """The ``PRICE_FILTER`` and ``LOT_SIZE`` entries of ``exchangeInfo`` (spot and USD-M)."""
    return [
        {
            "filterType": "PRICE_FILTER",
            "minPrice": num(m.min_price),
            "maxPrice": num(m.max_price),
            "tickSize": num(m.tick),
        },
        {
            "filterType": "LOT_SIZE",
            "minQty": num(m.min_qty),
            "maxQty": num(m.max_qty),
            "stepSize": num(m.lot),
        },
    ]
