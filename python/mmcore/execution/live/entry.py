"""Order entry (create, cancel) per venue family: ccxt's implicit signed endpoints where the
venue is one mmcore knows, ccxt's unified methods for any other exchange.

Why not the unified ``create_order`` everywhere: on the hot path it looks the market up again,
builds its request through layers of option handling and, on the reply, runs ``parse_order``
over the venue's full answer; the adapter needs none of it (its orders are already whole ticks
and lots rendered as exact text, and it only needs the order id and, at most, the status).
The implicit endpoints (``private_post_order``, ``fapiprivate_post_order``,
``private_post_v5_order_create``, ...) still go through ccxt's request signing, URLs, headers,
throttle (where on: see :func:`~mmcore.execution.live.exchange.make_exchange`), clock offset and
error mapping (a venue error raises the same ccxt exception as
through the unified method), so nothing about signing or errors is done twice.

Each family asks for the smallest answer the venue gives: Binance spot's
``newOrderRespType=ACK`` for a post-only order (it cannot fill on arrival, so the ids are all
there is to know), ``RESULT`` for one that can (the status says whether it filled at once);
Binance USD-M's ACK (its answer is the order itself); Bybit v5's create, which answers only
ids. Every entry returns the same small dict: ``id`` (the venue's order id), ``status`` (ccxt's
unified status, or None when the answer has none) and ``info`` (the venue's answer).
"""

from __future__ import annotations

import abc
from typing import Any

__all__ = [
    "BinanceEntry",
    "BinanceSpotEntry",
    "BinanceUsdmEntry",
    "BybitEntry",
    "OrderEntry",
    "order_entry",
]


class OrderEntry:
    """The unified ccxt methods (any ccxt exchange); the base of the venue families."""

    def __init__(self, exchange: Any, market: dict[str, Any]) -> None:
        self.exchange = exchange
        self.market = market
        self.market_symbol: str = market["symbol"]
        self.market_id: str = market["id"]

    async def create(
        self, side: str, qty: str, price: str, post_only: bool, client_id: str
    ) -> dict[str, Any]:
        """Place a limit order (``side`` ``buy``/``sell``, ``qty`` and ``price`` exact decimal
        text) under ``client_id``."""
        params: dict[str, Any] = {"clientOrderId": client_id}
        if post_only:
            params["postOnly"] = True
        return await self.exchange.create_order(
            self.market_symbol, "limit", side, qty, price, params
        )

    async def cancel(
        self, client_id: str, order_id: str | None, params: dict[str, Any]
    ) -> dict[str, Any]:
        """Cancel the order with ``client_id``: here through ccxt's unified method, by the
        venue's ``order_id`` or the client id in ``params`` (as the venue's profile says);
        a venue family cancels by ``client_id`` itself."""
        return await self.exchange.cancel_order(order_id, self.market_symbol, params)

    def _answer(self, order_id: Any, raw_status: str | None, info: Any) -> dict[str, Any]:
        status = self.exchange.parse_order_status(raw_status) if raw_status else None
        return {"id": "" if order_id is None else str(order_id), "status": status, "info": info}


class BinanceEntry(OrderEntry, abc.ABC):
    """What Binance spot and USD-M share: an order by symbol, side, type, quantity, price and
    ``newClientOrderId``; a cancel by ``origClientOrderId``. The families differ in the order
    type and answer asked for (:meth:`_kind`) and in the endpoint (:meth:`_send`,
    :meth:`_drop`)."""

    @abc.abstractmethod
    def _kind(self, post_only: bool) -> dict[str, str]:
        """The order type, time in force and answer type of an order."""

    @abc.abstractmethod
    async def _send(self, request: dict[str, str]) -> dict[str, Any]:
        """Place: the family's signed order endpoint."""

    @abc.abstractmethod
    async def _drop(self, request: dict[str, str]) -> dict[str, Any]:
        """Cancel: the family's signed order endpoint."""

    async def create(
        self, side: str, qty: str, price: str, post_only: bool, client_id: str
    ) -> dict[str, Any]:
        """See :meth:`OrderEntry.create`."""
        request = {
            "symbol": self.market_id,
            "side": side.upper(),
            "quantity": qty,
            "price": price,
            "newClientOrderId": client_id,
            **self._kind(post_only),
        }
        reply = await self._send(request)
        return self._answer(reply.get("orderId"), reply.get("status"), reply)

    async def cancel(
        self, client_id: str, order_id: str | None = None, params: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        """See :meth:`OrderEntry.cancel`."""
        reply = await self._drop({"symbol": self.market_id, "origClientOrderId": client_id})
        return self._answer(reply.get("orderId"), reply.get("status"), reply)


class BinanceSpotEntry(BinanceEntry):
    """Binance spot: ``POST``/``DELETE /api/v3/order``; ``LIMIT_MAKER`` for post-only."""

    def _kind(self, post_only: bool) -> dict[str, str]:
        # a maker-only order is resting or refused: its ids say all; another may fill at once
        if post_only:
            return {"type": "LIMIT_MAKER", "newOrderRespType": "ACK"}
        return {"type": "LIMIT", "timeInForce": "GTC", "newOrderRespType": "RESULT"}

    async def _send(self, request: dict[str, str]) -> dict[str, Any]:
        return await self.exchange.private_post_order(request)

    async def _drop(self, request: dict[str, str]) -> dict[str, Any]:
        return await self.exchange.private_delete_order(request)


class BinanceUsdmEntry(BinanceEntry):
    """Binance USD-M futures: ``POST``/``DELETE /fapi/v1/order``; ``GTX`` for post-only."""

    def _kind(self, post_only: bool) -> dict[str, str]:
        tif = "GTX" if post_only else "GTC"
        return {"type": "LIMIT", "timeInForce": tif, "newOrderRespType": "ACK"}

    async def _send(self, request: dict[str, str]) -> dict[str, Any]:
        return await self.exchange.fapiprivate_post_order(request)

    async def _drop(self, request: dict[str, str]) -> dict[str, Any]:
        return await self.exchange.fapiprivate_delete_order(request)


class BybitEntry(OrderEntry):
    """Bybit v5 (spot or linear): ``POST /v5/order/create`` (``PostOnly`` time in force),
    ``POST /v5/order/cancel`` by ``orderLinkId``; both answer only ids."""

    def __init__(self, exchange: Any, market: dict[str, Any]) -> None:
        super().__init__(exchange, market)
        self.category = "spot" if market.get("spot") else "linear"

    async def create(
        self, side: str, qty: str, price: str, post_only: bool, client_id: str
    ) -> dict[str, Any]:
        """See :meth:`OrderEntry.create`."""
        request = {
            "category": self.category,
            "symbol": self.market_id,
            "side": side.capitalize(),
            "orderType": "Limit",
            "qty": qty,
            "price": price,
            "orderLinkId": client_id,
        }
        if post_only:
            request["timeInForce"] = "PostOnly"
        reply = await self.exchange.private_post_v5_order_create(request)
        return self._answer(_result(reply).get("orderId"), None, reply)

    async def cancel(
        self, client_id: str, order_id: str | None = None, params: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        """See :meth:`OrderEntry.cancel`."""
        request = {"category": self.category, "symbol": self.market_id, "orderLinkId": client_id}
        if self.category == "spot":
            request["orderFilter"] = "Order"  # a plain order, not a TP/SL one
        reply = await self.exchange.private_post_v5_order_cancel(request)
        return self._answer(_result(reply).get("orderId"), None, reply)


def _result(reply: Any) -> dict[str, Any]:
    result = reply.get("result") if isinstance(reply, dict) else None
    return result if isinstance(result, dict) else {}


def order_entry(exchange: Any, market: dict[str, Any], *, generic: bool = False) -> OrderEntry:
    """The order entry of ``market`` on ``exchange``: a venue family's implicit endpoints for
    Binance spot, Binance USD-M and Bybit v5; ccxt's unified methods on a venue traded
    through the generic profile (``generic``, whatever its exchange) or any other one."""
    if generic:
        return OrderEntry(exchange, market)
    exchange_id = exchange.id
    if exchange_id in ("binance", "binanceusdm"):
        if market.get("spot"):
            return BinanceSpotEntry(exchange, market)
        if market.get("linear"):
            return BinanceUsdmEntry(exchange, market)
    if exchange_id == "bybit" and (market.get("spot") or market.get("linear")):
        return BybitEntry(exchange, market)
    return OrderEntry(exchange, market)
