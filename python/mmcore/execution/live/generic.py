"""The generic adapter's venue-neutral steps, on ccxt's unified API and its ``has`` table only
(see :mod:`mmcore.execution.live.profile` for what the generic profile does and does not do)."""

from __future__ import annotations

from typing import Any

from mmcore.execution.live.port import SessionPort

__all__ = ["REQUIRED", "cancel_each", "check_capabilities", "find_by_client_id", "streams"]

#: What a venue must implement in ccxt to be traded through the generic adapter.
REQUIRED = ("createOrder", "cancelOrder", "fetchOpenOrders", "fetchMyTrades", "fetchBalance")
#: Where an order that is no longer open is looked for, the first one ``has`` wins.
_HISTORY = (
    ("fetchOrders", "fetch_orders"),
    ("fetchCanceledAndClosedOrders", "fetch_canceled_and_closed_orders"),
    ("fetchClosedOrders", "fetch_closed_orders"),
)


def check_capabilities(exchange: Any, name: str) -> None:
    """Refuse a venue that lacks what the generic adapter needs, naming what is missing."""
    missing = [m for m in REQUIRED if not exchange.has.get(m)]
    if missing:
        raise ValueError(
            f"venue: {name} ({exchange.id}) cannot be traded through the generic adapter: "
            f"ccxt does not implement {', '.join(missing)} for it"
        )


def streams(exchange: Any) -> tuple[bool, bool]:
    """Whether the venue streams (orders, trades) in ccxt.pro; what it does not is polled."""
    return bool(exchange.has.get("watchOrders")), bool(exchange.has.get("watchMyTrades"))


async def find_by_client_id(session: SessionPort, venue: Any, vid: str) -> dict[str, Any] | None:
    """The venue's order whose unified ``clientOrderId`` is ``vid``: among the open orders,
    then the recent ones; None when neither holds it. A failed look-up raises
    ``RuntimeError`` (the order's fate stays unknown)."""
    ex, market = session.exchange, venue.market_symbol
    calls = [ex.fetch_open_orders]
    calls += [getattr(ex, method) for key, method in _HISTORY if ex.has.get(key)][:1]
    for call in calls:
        found, kind = await session.request(
            vid, f"query id={vid}", lambda call=call: call(market), retry_ambiguous=True
        )
        if kind != "ok":
            raise RuntimeError(str(found))
        for item in found:
            if item.get("clientOrderId") == vid:
                return item
    return None


async def cancel_each(session: SessionPort, venue: Any) -> None:
    """Cancel-all on a venue without ``cancelAllOrders``: every open order, one by one (the
    reconciliation that follows a cancel-all learns the rest when the list is not known)."""
    try:
        opens = await session.fetch_open(venue)
    except RuntimeError:
        return
    for item in opens:
        order_id = str(item.get("id") or "")
        _, kind = await session.request(
            venue.engine_id(item),
            f"cancel order_id={order_id}",
            lambda order_id=order_id: session.exchange.cancel_order(order_id, venue.market_symbol),
            retry_ambiguous=True,
        )
        if kind == "ok":
            venue.on_order({**item, "status": "canceled"}, "cancel_all")
