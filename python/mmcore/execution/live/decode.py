"""ccxt's unified orders and trades, as the engine's venue events (the one decode step of the
live venue: REST replies, private streams and reconciliation all pass through here).

Fills come only from trades (each with the venue's trade id, so a trade seen twice, on the
stream and again over REST, is one fill); order updates give acks, cancels and expiries, never
quantities. Prices and sizes become integer ticks and lots on the market's grid; a trade off the
grid or with a non-finite value raises ``ValueError`` naming the field.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from mmcore.execution.live.rules import MarketRules, exact_decimal
from mmcore.execution.orders import (
    OrderAcked,
    OrderCancelled,
    OrderExpired,
    OrderFilled,
    OrderRejected,
    Side,
    VenueEvent,
)

__all__ = [
    "FEE_ASSET_EVENT",
    "NO_FEE",
    "STATUS_DONE",
    "Fee",
    "client_id_of",
    "fee_of",
    "fill_of",
    "status_event",
]

#: The journal event kind of a fee charged in an asset with no price (detail: asset, amount,
#: fill id); :mod:`mmcore.ui.report` sums these per asset.
FEE_ASSET_EVENT = "venue_fee_asset"
#: ccxt order statuses after which an order never changes again.
STATUS_DONE = frozenset({"closed", "canceled", "cancelled", "expired", "rejected"})
# venue-specific keys of the client order id inside a raw (``info``) payload
_INFO_CLIENT_KEYS = ("clientOrderId", "c", "orderLinkId", "newClientOrderId", "clOrdId")


def client_id_of(
    item: dict[str, Any], info_keys: tuple[str, ...] = _INFO_CLIENT_KEYS
) -> str | None:
    """The venue client order id of a ccxt order or trade (from ``info``, under one of
    ``info_keys``, when ccxt's unified structure leaves it out, as in trades; a generic venue
    reads none: its trades are matched by the order id).

    A raw ``origClientOrderId`` comes first, on every venue: Binance answers a cancel with the
    cancel request's own id in ``clientOrderId`` and the order's in ``origClientOrderId``, and
    ccxt's REST parser keeps the former; read as the order's, it named an order nobody sent
    (its websocket parser reads the original, ``C``, first)."""
    info = item.get("info")
    if isinstance(info, dict):
        original = info.get("origClientOrderId")
        if isinstance(original, str) and original:
            return original
    cid = item.get("clientOrderId")
    if isinstance(cid, str) and cid:
        return cid
    if isinstance(info, dict):
        for key in info_keys:
            value = info.get(key)
            if isinstance(value, str) and value:
                return value
    return None


@dataclass(frozen=True, slots=True)
class Fee:
    """A trade's fee: ``amount`` of ``asset`` as the venue charged it, and ``quote``, its value
    in the market's quote currency (what the portfolio counts). ``valued`` is False for a fee
    in an asset that is neither the market's base nor its quote and has no configured price
    (``[live.fee_prices]``): it is then not in ``quote`` and must be shown in its own asset."""

    quote: float
    asset: str
    amount: float
    valued: bool = True


NO_FEE = Fee(0.0, "", 0.0)


def fee_of(
    trade: dict[str, Any],
    price: float,
    quote: str,
    base: str,
    prices: Mapping[str, float] | None = None,
) -> Fee:
    """The trade's fee (see :class:`Fee`): in the quote currency as charged; in the base asset
    valued at the trade's ``price``; in a third asset (Binance's BNB discount) valued at
    ``prices[asset]`` (quote currency per unit), else left unvalued."""
    fee = trade.get("fee") or {}
    cost = fee.get("cost")
    if cost is None:
        return NO_FEE
    value = float(exact_decimal(cost, "fee.cost"))
    currency = fee.get("currency") or ""
    if currency == base and base:
        return Fee(value * price, currency, value)
    if currency in (quote, ""):
        return Fee(value, currency or quote, value)
    rate = (prices or {}).get(currency)
    if rate is None:
        return Fee(0.0, currency, value, valued=False)
    return Fee(value * rate, currency, value)


def fill_of(
    trade: dict[str, Any],
    client_id: str,
    rules: MarketRules,
    fill_prefix: str,
    ts: float,
    quote: str = "",
    base: str = "",
    fee_prices: Mapping[str, float] | None = None,
) -> tuple[OrderFilled, Fee]:
    """The fill of a ccxt trade on an order known by ``client_id`` (the engine's id), stamped
    ``ts`` (engine time: when it reached us), and its fee (see :func:`fee_of`; the fill
    carries its value in the quote currency). ``fill_prefix`` (the venue's name) keeps fill ids
    unique across venues."""
    trade_id = trade.get("id")
    if trade_id is None or trade_id == "":
        raise ValueError("trade.id: missing (a fill without an id cannot be deduplicated)")
    side = {"buy": Side.BUY, "sell": Side.SELL}.get(trade.get("side") or "")
    if side is None:
        raise ValueError(f"trade.side: not buy or sell: {trade.get('side')!r}")
    ticks = rules.ticks_of(trade.get("price"), "trade.price")
    lots = rules.lots_of(trade.get("amount"), "trade.amount")
    if ticks <= 0 or lots <= 0:
        raise ValueError(f"trade {trade_id}: price and amount must be > 0")
    price = float(rules.price(ticks))
    fee = fee_of(trade, price, quote, base, fee_prices)
    if not (math.isfinite(fee.quote) and math.isfinite(fee.amount)):
        raise ValueError(f"trade {trade_id}: fee not finite")
    filled = OrderFilled(
        client_id,
        ts,
        f"{fill_prefix}:{trade_id}",
        side,
        ticks,
        float(rules.qty(lots) * rules.contract_size),
        fee.quote,
        trade.get("takerOrMaker") != "taker",
    )
    return filled, fee


def status_event(order: dict[str, Any], client_id: str, ts: float) -> VenueEvent | None:
    """The event an order's status means: open → acked; canceled → cancelled (also a post-only
    order the venue cancelled instead of letting it cross); expired → expired; rejected →
    rejected; closed (filled) → None: its fills carry the news."""
    status = order.get("status")
    venue_id = str(order.get("id") or "")
    if status == "open":
        return OrderAcked(client_id, ts, venue_id)
    if status in ("canceled", "cancelled"):
        return OrderCancelled(client_id, ts)
    if status == "expired":
        return OrderExpired(client_id, ts)
    if status == "rejected":
        return OrderRejected(client_id, ts, "venue_rejected")
    return None
