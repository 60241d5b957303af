"""Fake Binance USD-M futures: ``/fapi/v1|v2|v3/...`` REST incl. ``PUT /fapi/v1/order``
(modify) and the ``countdownCancelAll`` dead-man switch; the user data stream by listenKey on
``/ws/<listenKey>`` or ``/private/ws?listenKey=<key>`` with ``ORDER_TRADE_UPDATE`` /
``ACCOUNT_UPDATE``, as ccxt 4.5.90 calls them (docs/exchange-protocols.md §6).

Post-only is ``timeInForce=GTX``, refused with ``-5022`` when it would cross.
"""

from __future__ import annotations

import asyncio
import json
import secrets
from decimal import Decimal
from typing import Any, ClassVar
from urllib.parse import parse_qsl

from mmcore.testing.fake_venue.binance_common import (
    ORDER_STATUS,
    TRADES_PARAMS,
    BinanceFamily,
    Route,
    bad,
    decimal_param,
    endpoint,
    filter_reject,
    price_and_lot_filters,
)
from mmcore.testing.fake_venue.ledger import (
    LedgerEvent,
    MarketSpec,
    Order,
    Reject,
    RejectReason,
)
from mmcore.testing.fake_venue.server import (
    StreamConn,
    num,
)

__all__ = ["FakeBinanceUsdm"]

# the parameters each endpoint reads (anything else is refused with -1104, like the venue)
_USDM_ORDER_PARAMS = (
    "symbol side positionSide type timeInForce quantity reduceOnly price newClientOrderId "
    "newOrderRespType selfTradePreventionMode priceMatch goodTillDate"
)
_USDM_MODIFY_PARAMS = "symbol orderId origClientOrderId side quantity price priceMatch"


class FakeBinanceUsdm(BinanceFamily):
    """Binance USD-M futures: REST under ``/fapi/v1|v2|v3``; the user data stream by listenKey
    on ``/ws/<listenKey>`` and ``/private/ws?listenKey=<listenKey>``."""

    ccxt_preset = "binance-usdm"
    order_entry = ("POST", "/fapi/v1/order")
    kind = "linear"
    prefix = "/fapi"
    routes: ClassVar[dict[tuple[str, str], tuple[str, Route]]] = {
        ("GET", "v1/time"): ("_time", endpoint(1, "")),
        ("GET", "v1/ping"): ("_time", endpoint(1, "")),
        ("GET", "v1/exchangeInfo"): ("_futures_info", endpoint(1, "")),
        ("POST", "v1/order"): (
            "_new_order",
            endpoint(0, _USDM_ORDER_PARAMS, "symbol side type quantity"),
        ),
        ("PUT", "v1/order"): (
            "_modify",
            endpoint(1, _USDM_MODIFY_PARAMS, "symbol side quantity price"),
        ),
        ("DELETE", "v1/order"): (
            "_cancel",
            endpoint(1, "symbol orderId origClientOrderId", "symbol"),
        ),
        ("DELETE", "v1/allOpenOrders"): ("_cancel_all", endpoint(1, "symbol", "symbol")),
        ("GET", "v1/order"): ("_query", endpoint(1, "symbol orderId origClientOrderId", "symbol")),
        ("GET", "v1/openOrders"): ("_open", endpoint(1, "symbol")),
        ("GET", "v1/userTrades"): ("_user_trades", endpoint(5, TRADES_PARAMS, "symbol")),
        ("GET", "v2/account"): ("_account", endpoint(5, "")),
        ("GET", "v3/account"): ("_account", endpoint(5, "")),
        ("GET", "v2/balance"): ("_balance", endpoint(5, "")),
        ("GET", "v3/balance"): ("_balance", endpoint(5, "")),
        ("GET", "v1/leverageBracket"): ("_leverage_bracket", endpoint(1, "symbol")),
        ("GET", "v2/positionRisk"): ("_position_risk", endpoint(5, "symbol")),
        ("GET", "v3/positionRisk"): ("_position_risk", endpoint(5, "symbol")),
        ("POST", "v1/countdownCancelAll"): (
            "_countdown",
            endpoint(10, "symbol countdownTime", "symbol countdownTime"),
        ),
        ("POST", "v1/listenKey"): ("_listen_key_new", endpoint(1, "")),
        ("PUT", "v1/listenKey"): ("_listen_key_keep", endpoint(1, "listenKey")),
        ("DELETE", "v1/listenKey"): ("_listen_key_close", endpoint(1, "listenKey")),
    }

    def __init__(self, markets: list[MarketSpec] | None = None, **kwargs: Any) -> None:
        kwargs.setdefault("maker_fee", Decimal("0.0002"))
        kwargs.setdefault("taker_fee", Decimal("0.0005"))
        super().__init__(markets, **kwargs)
        self.listen_keys: set[str] = set()
        self.countdowns: dict[str, asyncio.TimerHandle] = {}
        #: dead-man triggers that fired: (venue ms, symbol)
        self.countdown_fired: list[tuple[int, str]] = []

    async def stop(self) -> None:
        for handle in self.countdowns.values():
            handle.cancel()
        await super().stop()

    # ---- REST ------------------------------------------------------------------------------
    def _futures_info(self, params: dict[str, Any]) -> Any:
        return self._exchange_info(_futures_filters)

    def _symbol_info(self, m: MarketSpec, filters: list[dict[str, Any]]) -> dict[str, Any]:
        return {
            "symbol": m.symbol,
            "pair": m.symbol,
            "contractType": "PERPETUAL",
            "deliveryDate": 4133404800000,
            "onboardDate": 1569398400000,
            "status": "TRADING",
            "maintMarginPercent": "2.5000",
            "requiredMarginPercent": "5.0000",
            "baseAsset": m.base,
            "quoteAsset": m.quote,
            "marginAsset": m.quote,
            "pricePrecision": 2,
            "quantityPrecision": 3,
            "baseAssetPrecision": 8,
            "quotePrecision": 8,
            "underlyingType": "COIN",
            "underlyingSubType": [],
            "triggerProtect": "0.0500",
            "liquidationFee": "0.012500",
            "marketTakeBound": "0.05",
            "maxMoveOrderLimit": 10000,
            "filters": filters,
            "orderTypes": ["LIMIT"],
            "timeInForce": ["GTC", "GTX"],
            "permissionSets": ["GRID", "COPY"],
        }

    def _new_order(self, params: dict[str, Any]) -> Any:
        market, side, qty, price, client_id = self._place_args(params)
        if params.get("type") != "LIMIT":
            raise bad(-1116, "Invalid orderType.")
        tif = params.get("timeInForce", "GTC")
        if tif not in ("GTC", "GTX"):
            raise bad(-1115, "Invalid timeInForce.")
        if params.get("positionSide", "BOTH") != "BOTH":
            raise bad(-4061, "Order's position side does not match user's setting.")
        post_only = tif == "GTX"
        if post_only and self.take_post_only_reject():
            raise filter_reject(Reject(RejectReason.WOULD_CROSS), futures=True)
        try:
            order = self.ledger.place(
                market.symbol,
                side,
                qty,
                price,
                client_id,
                post_only=post_only,
                reduce_only=params.get("reduceOnly") == "true",
            )
        except Reject as err:
            raise filter_reject(err, futures=True) from None
        return self._order_view(order)

    def _modify(self, params: dict[str, Any]) -> Any:
        order = self._lookup(params, -2013, "Order does not exist.")
        if params["side"].lower() != order.side:
            raise bad(-4001, "Side does not match.")
        try:
            self.ledger.amend(
                order, qty=decimal_param(params, "quantity"), price=decimal_param(params, "price")
            )
        except Reject as err:
            if err.reason is RejectReason.UNKNOWN_ORDER:
                raise bad(-2013, "Order does not exist.") from None
            raise filter_reject(err, futures=True) from None
        return self._order_view(order)

    def _cancel(self, params: dict[str, Any]) -> Any:
        return self._order_view(self._cancel_order(params))

    def _cancel_all(self, params: dict[str, Any]) -> Any:
        self.ledger.cancel_all(self._market(params).symbol)
        return {"code": 200, "msg": "The operation of cancel all open order is done."}

    def _user_trades(self, params: dict[str, Any]) -> Any:
        return [
            {
                "buyer": f.side == "buy",
                "commission": num(f.fee),
                "commissionAsset": f.fee_asset,
                "id": f.trade_id,
                "maker": f.maker,
                "orderId": f.order_id,
                "price": num(f.price),
                "qty": num(f.qty),
                "quoteQty": num(f.price * f.qty),
                "realizedPnl": num(f.realized_pnl),
                "side": f.side.upper(),
                "positionSide": "BOTH",
                "symbol": f.symbol,
                "time": f.time_ms,
            }
            for f in self._trades(params)
        ]

    def _asset_views(self) -> list[dict[str, Any]]:
        return [
            {
                "asset": a,
                "walletBalance": num(b.free),
                "unrealizedProfit": "0",
                "marginBalance": num(b.free),
                "maintMargin": "0",
                "initialMargin": "0",
                "positionInitialMargin": "0",
                "openOrderInitialMargin": "0",
                "crossWalletBalance": num(b.free),
                "crossUnPnl": "0",
                "availableBalance": num(b.free),
                "maxWithdrawAmount": num(b.free),
                "updateTime": self.now_ms(),
            }
            for a, b in sorted(self.ledger.balances.items())
        ]

    def _account(self, params: dict[str, Any]) -> Any:
        wallet = sum((b.free for b in self.ledger.balances.values()), Decimal(0))
        return {
            "totalInitialMargin": "0",
            "totalMaintMargin": "0",
            "totalWalletBalance": num(wallet),
            "totalUnrealizedProfit": "0",
            "totalMarginBalance": num(wallet),
            "totalPositionInitialMargin": "0",
            "totalOpenOrderInitialMargin": "0",
            "totalCrossWalletBalance": num(wallet),
            "totalCrossUnPnl": "0",
            "availableBalance": num(wallet),
            "maxWithdrawAmount": num(wallet),
            "assets": self._asset_views(),
            "positions": [
                {
                    "symbol": s,
                    "positionSide": "BOTH",
                    "positionAmt": num(p.qty),
                    "unrealizedProfit": "0",
                    "isolatedMargin": "0",
                    "notional": num(p.qty * p.entry),
                    "isolatedWallet": "0",
                    "initialMargin": "0",
                    "maintMargin": "0",
                    "updateTime": self.now_ms(),
                }
                for s, p in sorted(self.ledger.positions.items())
                if p.qty
            ],
        }

    def _balance(self, params: dict[str, Any]) -> Any:
        return [
            {
                "accountAlias": "fake",
                "asset": v["asset"],
                "balance": v["walletBalance"],
                "crossWalletBalance": v["crossWalletBalance"],
                "crossUnPnl": "0",
                "availableBalance": v["availableBalance"],
                "maxWithdrawAmount": v["maxWithdrawAmount"],
                "marginAvailable": True,
                "updateTime": v["updateTime"],
            }
            for v in self._asset_views()
        ]

    def _position_risk(self, params: dict[str, Any]) -> Any:
        symbols = (
            [self._market(params).symbol] if "symbol" in params else sorted(self.ledger.markets)
        )
        views = []
        for s in symbols:
            p = self.ledger.position(s)
            mark = p.entry
            views.append(
                {
                    "symbol": s,
                    "positionSide": "BOTH",
                    "positionAmt": num(p.qty),
                    "entryPrice": num(p.entry),
                    "breakEvenPrice": num(p.entry),
                    "markPrice": num(mark),
                    "unRealizedProfit": "0",
                    "liquidationPrice": "0",
                    "isolatedMargin": "0",
                    "notional": num(p.qty * mark),
                    "marginAsset": "USDT",
                    "isolatedWallet": "0",
                    "initialMargin": "0",
                    "maintMargin": "0",
                    "positionInitialMargin": "0",
                    "openOrderInitialMargin": "0",
                    "adl": 0,
                    "bidNotional": "0",
                    "askNotional": "0",
                    "leverage": "10",
                    "marginType": "cross",
                    "isAutoAddMargin": "false",
                    "maxNotionalValue": "1000000",
                    "updateTime": self.now_ms(),
                }
            )
        return views

    def _leverage_bracket(self, params: dict[str, Any]) -> Any:
        symbols = [self._market(params).symbol] if "symbol" in params else self.ledger.markets
        bracket = {
            "bracket": 1,
            "initialLeverage": 125,
            "notionalCap": 50000,
            "notionalFloor": 0,
            "maintMarginRatio": 0.004,
            "cum": 0.0,
        }
        return [{"symbol": s, "notionalCoef": 1.0, "brackets": [bracket]} for s in symbols]

    def _countdown(self, params: dict[str, Any]) -> Any:
        """The dead-man switch: cancel the symbol's orders unless refreshed within the time."""
        symbol = self._market(params).symbol
        try:
            countdown = int(params["countdownTime"])
        except ValueError:
            raise bad(
                -1102,
                "Mandatory parameter 'countdownTime' was not sent, was empty/null, or malformed.",
            ) from None
        old = self.countdowns.pop(symbol, None)
        if old is not None:
            old.cancel()
        if countdown > 0:

            def fire() -> None:
                self.countdowns.pop(symbol, None)
                self.countdown_fired.append((self.now_ms(), symbol))
                self.ledger.cancel_all(symbol)

            self.countdowns[symbol] = self.later(countdown / 1000, fire)
        return {"symbol": symbol, "countdownTime": str(countdown)}

    def _listen_key_new(self, params: dict[str, Any]) -> Any:
        key = secrets.token_urlsafe(48)
        self.listen_keys.add(key)
        return {"listenKey": key}

    def _listen_key_keep(self, params: dict[str, Any]) -> Any:
        if self.listen_keys:
            return {"listenKey": next(iter(self.listen_keys))}
        raise bad(-1125, "This listenKey does not exist.")

    def _listen_key_close(self, params: dict[str, Any]) -> Any:
        self.listen_keys.clear()
        return {}

    def expire_listen_keys(self) -> int:
        """Fault: every listenKey expires; its streams get ``listenKeyExpired`` and are closed,
        keep-alives then answer -1125. Return how many streams were ended."""
        ended = 0
        for conn in self.streams:
            if "user" in conn.topics:
                event = self._event_base("listenKeyExpired") | {"listenKey": "expired"}
                conn.send(json.dumps(event, separators=(",", ":")))
                conn.topics.discard("user")
                conn.cut_after_queued()
                ended += 1
        self.listen_keys.clear()
        return ended

    # ---- views -----------------------------------------------------------------------------
    def _order_view(self, o: Order) -> dict[str, Any]:
        tif = "GTX" if o.post_only else "GTC"
        return {
            "orderId": o.order_id,
            "symbol": o.symbol,
            "status": ORDER_STATUS[o.status],
            "clientOrderId": o.client_id,
            "price": num(o.price),
            "avgPrice": num(o.avg_price),
            "origQty": num(o.qty),
            "executedQty": num(o.filled),
            "cumQty": num(o.filled),
            "cumQuote": num(o.filled_quote),
            "timeInForce": tif,
            "type": "LIMIT",
            "reduceOnly": o.reduce_only,
            "closePosition": False,
            "side": o.side.upper(),
            "positionSide": "BOTH",
            "stopPrice": "0",
            "workingType": "CONTRACT_PRICE",
            "priceProtect": False,
            "origType": "LIMIT",
            "priceMatch": "NONE",
            "selfTradePreventionMode": "EXPIRE_MAKER",
            "goodTillDate": 0,
            "time": o.created_ms,
            "updateTime": o.updated_ms,
        }

    # ---- streams ---------------------------------------------------------------------------
    def stream_messages(self, event: LedgerEvent) -> list[tuple[str, str, bool]]:
        o, f = event.order, event.fill
        body = {
            "s": o.symbol,
            "c": o.client_id,
            "S": o.side.upper(),
            "o": "LIMIT",
            "f": "GTX" if o.post_only else "GTC",
            "q": num(o.qty),
            "p": num(o.price),
            "ap": num(o.avg_price),
            "sp": "0",
            "x": {
                "new": "NEW",
                "canceled": "CANCELED",
                "expired": "EXPIRED",
                "trade": "TRADE",
                "amended": "AMENDMENT",
            }[event.kind],
            "X": ORDER_STATUS[o.status],
            "i": o.order_id,
            "l": num(f.qty) if f else "0",
            "z": num(o.filled),
            "L": num(f.price) if f else "0",
            "N": f.fee_asset if f else "USDT",
            "n": num(f.fee) if f else "0",
            "T": o.updated_ms,
            "t": f.trade_id if f else 0,
            "b": "0",
            "a": "0",
            "m": f.maker if f else False,
            "R": o.reduce_only,
            "wt": "CONTRACT_PRICE",
            "ot": "LIMIT",
            "ps": "BOTH",
            "cp": False,
            "rp": num(f.realized_pnl) if f else "0",
            "pP": False,
            "si": 0,
            "ss": 0,
            "V": "EXPIRE_MAKER",
            "pm": "NONE",
            "gtd": 0,
        }
        update = self._event_base("ORDER_TRADE_UPDATE") | {"T": o.updated_ms, "o": body}
        frames = [("user", json.dumps(update, separators=(",", ":")), f is not None)]
        if f is not None:
            pos = self.ledger.position(o.symbol)
            account = self._event_base("ACCOUNT_UPDATE") | {
                "T": o.updated_ms,
                "a": {
                    "m": "ORDER",
                    "B": [
                        {
                            "a": a,
                            "wb": num(self.ledger.balance(a).free),
                            "cw": num(self.ledger.balance(a).free),
                            "bc": "0",
                        }
                        for a in event.assets
                    ],
                    "P": [
                        {
                            "s": o.symbol,
                            "pa": num(pos.qty),
                            "ep": num(pos.entry),
                            "bep": num(pos.entry),
                            "cr": num(pos.realized),
                            "up": "0",
                            "mt": "cross",
                            "iw": "0",
                            "ps": "BOTH",
                        }
                    ],
                },
            }
            frames.append(("user", json.dumps(account, separators=(",", ":")), False))
        return frames

    async def stream_session(self, conn: StreamConn) -> None:
        path, _, query = conn.path.partition("?")
        key = dict(parse_qsl(query)).get("listenKey") if path == "/private/ws" else None
        if path.startswith("/ws/"):
            key = path[len("/ws/") :]
        if key is None or key not in self.listen_keys:
            self.log_ws_request(path, "CONNECT", {})
            await conn.ws.close(1008, "invalid listenKey")
            return
        self.log_ws_request(path, "CONNECT", {})
        conn.authed = True
        conn.topics.add("user")
        async for raw in conn.ws:
            # the user stream takes SUBSCRIBE-style requests only; answer them like the venue
            try:
                req_id = json.loads(raw).get("id")
            except (ValueError, AttributeError):
                req_id = None
            conn.send(json.dumps({"result": None, "id": req_id}))


def _futures_filters(m: MarketSpec) -> list[dict[str, Any]]:
    price, lot = price_and_lot_filters(m)
    return [
        price,
        lot,
        lot | {"filterType": "MARKET_LOT_SIZE"},  # no market orders here: the same bounds
        {"filterType": "MAX_NUM_ORDERS", "limit": 200},
        {"filterType": "MIN_NOTIONAL", "notional": num(m.min_notional)},
        {
            "filterType": "PERCENT_PRICE",
            "multiplierUp": "1.0500",
            "multiplierDown": "0.9500",
            "multiplierDecimal": "4",
        },
    ]
