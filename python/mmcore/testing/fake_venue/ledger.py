"""The fake venue's account: markets, orders, fills, balances and positions (venue-neutral).

There is no matching engine: an order rests until the test fills it (:meth:`Ledger.fill`) or
cancels it. The best bid/ask set per symbol (:meth:`Ledger.set_quote`) is used only to refuse a
post-only order that would cross. Every change is announced to the listeners as a
:class:`LedgerEvent`; each venue family turns those into its own stream messages.

Accounting: spot orders lock their balance (quote for a buy at the order price, base for a
sell) and a fill moves base and quote; the fee is charged in what the fill brings in, as both
venues do without fee discounts: the base asset for a buy, the quote asset for a sell; with
:attr:`Ledger.fee_payment` set (Binance's BNB discount) it is charged in that asset instead. Linear
(USDT-margined) fills move a signed position with an average entry price; realised PnL and
fees go to the quote wallet. No margin is checked for linear orders.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from enum import Enum

__all__ = [
    "Balance",
    "Fill",
    "Ledger",
    "LedgerEvent",
    "MarketSpec",
    "Order",
    "Position",
    "Reject",
    "RejectReason",
]

ZERO = Decimal(0)


class RejectReason(Enum):
    """Why the ledger refused a request; each venue maps it to its own error code."""

    DUPLICATE_CLIENT_ID = "duplicate client order id"
    WOULD_CROSS = "post-only order would immediately match"
    INSUFFICIENT_BALANCE = "insufficient balance"
    UNKNOWN_ORDER = "unknown order"
    PRICE_FILTER = "price not a multiple of the tick or out of range"
    LOT_SIZE = "quantity not a multiple of the lot or below the minimum"
    MIN_NOTIONAL = "notional below the minimum"
    REDUCE_ONLY = "reduce-only order would increase the position"


class Reject(Exception):
    """A request the venue refuses; ``reason`` says which rule."""

    def __init__(self, reason: RejectReason, detail: str = "") -> None:
        super().__init__(f"{reason.value}{': ' + detail if detail else ''}")
        self.reason = reason


@dataclass(frozen=True, slots=True)
class MarketSpec:
    """One instrument: venue symbol, assets, kind (``spot`` or ``linear``) and its filters."""

    symbol: str
    base: str
    quote: str
    kind: str = "spot"
    tick: Decimal = Decimal("0.01")
    lot: Decimal = Decimal("0.00001")
    min_qty: Decimal = Decimal("0.00001")
    max_qty: Decimal = Decimal("9000")
    min_price: Decimal = Decimal("0.01")
    max_price: Decimal = Decimal("1000000")
    min_notional: Decimal = Decimal("5")


@dataclass(slots=True)
class Balance:
    """An asset's free and locked amounts."""

    free: Decimal = ZERO
    locked: Decimal = ZERO


@dataclass(slots=True)
class Position:
    """A linear position: signed quantity, average entry price, realised PnL so far."""

    qty: Decimal = ZERO
    entry: Decimal = ZERO
    realized: Decimal = ZERO


@dataclass(slots=True)
class Order:
    """An order as the venue stores it; ``side`` is ``buy`` or ``sell``."""

    order_id: int
    client_id: str
    symbol: str
    side: str
    price: Decimal
    qty: Decimal
    created_ms: int
    post_only: bool = True
    reduce_only: bool = False
    filled: Decimal = ZERO
    filled_quote: Decimal = ZERO
    status: str = "new"  # new, partially_filled, filled, canceled
    updated_ms: int = 0
    cancel_reason: str = ""

    @property
    def is_open(self) -> bool:
        """Still resting on the book."""
        return self.status in ("new", "partially_filled")

    @property
    def remaining(self) -> Decimal:
        """Quantity not filled yet."""
        return self.qty - self.filled

    @property
    def avg_price(self) -> Decimal:
        """Average fill price (0 before the first fill)."""
        return self.filled_quote / self.filled if self.filled else ZERO


@dataclass(frozen=True, slots=True)
class Fill:
    """One execution of an order."""

    trade_id: int
    order_id: int
    client_id: str
    symbol: str
    side: str
    price: Decimal
    qty: Decimal
    maker: bool
    fee: Decimal
    fee_asset: str
    time_ms: int
    realized_pnl: Decimal = ZERO


@dataclass(frozen=True, slots=True)
class LedgerEvent:
    """A change to announce: ``kind`` is ``new``, ``canceled``, ``amended``, ``trade`` or
    ``expired`` (a post-only order the venue cancels instead of refusing); ``fill`` is set for
    ``trade``; ``assets`` are the assets and ``symbols`` the positions whose amounts changed."""

    kind: str
    order: Order
    fill: Fill | None = None
    assets: tuple[str, ...] = ()
    symbols: tuple[str, ...] = ()


@dataclass
class Ledger:
    """Markets, orders, fills, balances and positions of one fake account."""

    markets: dict[str, MarketSpec]
    clock_ms: Callable[[], int]
    maker_fee: Decimal = Decimal("0.001")
    taker_fee: Decimal = Decimal("0.001")
    balances: dict[str, Balance] = field(default_factory=dict)
    positions: dict[str, Position] = field(default_factory=dict)
    orders: dict[int, Order] = field(default_factory=dict)
    fills: list[Fill] = field(default_factory=list)
    quotes: dict[str, tuple[Decimal, Decimal]] = field(default_factory=dict)
    listeners: list[Callable[[LedgerEvent], None]] = field(default_factory=list)
    #: Spot fees paid in a third asset at a price in the quote currency (Binance's BNB
    #: discount): ``(asset, price)``; None: in what the fill brings in.
    fee_payment: tuple[str, Decimal] | None = None
    _order_ids: itertools.count[int] = field(default_factory=lambda: itertools.count(100_001))
    _trade_ids: itertools.count[int] = field(default_factory=lambda: itertools.count(500_001))

    # ---- lookups ---------------------------------------------------------------------------
    def market(self, symbol: str) -> MarketSpec:
        """The market ``symbol``; KeyError naming it and the known ones when unknown."""
        try:
            return self.markets[symbol]
        except KeyError:
            raise KeyError(f"unknown market {symbol!r}, known: {sorted(self.markets)}") from None

    def open_orders(self, symbol: str | None = None) -> list[Order]:
        """Resting orders, oldest first, of one symbol or all."""
        return [o for o in self.orders.values() if o.is_open and symbol in (None, o.symbol)]

    def find(self, *, order_id: int | None = None, client_id: str | None = None) -> Order:
        """An order by venue id or client id (the newest with that client id); else Reject."""
        if order_id is not None:
            order = self.orders.get(order_id)
            if order is not None and (client_id is None or order.client_id == client_id):
                return order
        elif client_id is not None:
            for order in reversed(self.orders.values()):
                if order.client_id == client_id:
                    return order
        raise Reject(RejectReason.UNKNOWN_ORDER, f"order id {order_id}, client id {client_id!r}")

    def select_fills(
        self,
        *,
        symbol: str | None = None,
        order_id: int | None = None,
        client_id: str | None = None,
        from_trade_id: int | None = None,
        start_ms: int | None = None,
        end_ms: int | None = None,
    ) -> list[Fill]:
        """Fills in execution order matching every filter given (the trade-history queries)."""
        return [
            f
            for f in self.fills
            if symbol in (None, f.symbol)
            and order_id in (None, f.order_id)
            and client_id in (None, f.client_id)
            and (from_trade_id is None or f.trade_id >= from_trade_id)
            and (start_ms is None or f.time_ms >= start_ms)
            and (end_ms is None or f.time_ms <= end_ms)
        ]

    def balance(self, asset: str) -> Balance:
        """The balance of ``asset`` (created empty on first use)."""
        return self.balances.setdefault(asset, Balance())

    def position(self, symbol: str) -> Position:
        """The position in ``symbol`` (created flat on first use)."""
        return self.positions.setdefault(symbol, Position())

    # ---- set-up ----------------------------------------------------------------------------
    def set_quote(self, symbol: str, bid: Decimal, ask: Decimal) -> None:
        """The best bid/ask used for the post-only cross check of ``symbol``."""
        self.market(symbol)
        _require_positive("bid", bid)
        _require_positive("ask", ask)
        if bid >= ask:
            raise ValueError(f"bid {bid} must be below ask {ask}")
        self.quotes[symbol] = (bid, ask)

    # ---- requests --------------------------------------------------------------------------
    def place(
        self,
        symbol: str,
        side: str,
        qty: Decimal,
        price: Decimal,
        client_id: str,
        *,
        post_only: bool = True,
        reduce_only: bool = False,
    ) -> Order:
        """Check and rest a limit order; raise :class:`Reject` naming the rule it breaks."""
        spec = self.market(symbol)
        _require_positive("qty", qty)
        _require_positive("price", price)
        self._check_filters(spec, qty, price)
        if any(o.client_id == client_id for o in self.open_orders()):
            raise Reject(RejectReason.DUPLICATE_CLIENT_ID, client_id)
        if post_only and self.would_cross(symbol, side, price):
            raise Reject(RejectReason.WOULD_CROSS)
        if reduce_only:
            self._check_reduce_only(symbol, side, qty)
        now = self.clock_ms()
        order = Order(
            next(self._order_ids),
            client_id,
            symbol,
            side,
            price,
            qty,
            now,
            post_only,
            reduce_only,
            updated_ms=now,
        )
        assets = self._lock(spec, order, order.qty)
        self.orders[order.order_id] = order
        self._emit(LedgerEvent("new", order, assets=assets))
        return order

    def cancel(self, order: Order, reason: str = "") -> Order:
        """Cancel a resting order (Reject UNKNOWN_ORDER when it is already final)."""
        if not order.is_open:
            raise Reject(RejectReason.UNKNOWN_ORDER, f"order {order.order_id} is {order.status}")
        assets = self._unlock(self.market(order.symbol), order, order.remaining)
        order.status = "canceled"
        order.cancel_reason = reason
        order.updated_ms = self.clock_ms()
        self._emit(LedgerEvent("expired" if reason else "canceled", order, assets=assets))
        return order

    def cancel_all(self, symbol: str | None = None, reason: str = "") -> list[Order]:
        """Cancel every resting order of ``symbol`` (or all); return them."""
        return [self.cancel(o, reason) for o in self.open_orders(symbol)]

    def amend(self, order: Order, *, qty: Decimal | None, price: Decimal | None) -> Order:
        """Change the price and/or total quantity of a resting order, in place."""
        if not order.is_open:
            raise Reject(RejectReason.UNKNOWN_ORDER, f"order {order.order_id} is {order.status}")
        spec = self.market(order.symbol)
        new_qty = order.qty if qty is None else _require_positive("qty", qty)
        new_price = order.price if price is None else _require_positive("price", price)
        self._check_filters(spec, new_qty, new_price)
        if new_qty <= order.filled:
            raise Reject(RejectReason.LOT_SIZE, "new quantity not above the filled quantity")
        if order.post_only and self.would_cross(order.symbol, order.side, new_price):
            raise Reject(RejectReason.WOULD_CROSS)
        self._unlock(spec, order, order.remaining)
        order.qty, order.price = new_qty, new_price
        assets = self._lock(spec, order, order.remaining)
        order.updated_ms = self.clock_ms()
        self._emit(LedgerEvent("amended", order, assets=assets))
        return order

    def would_cross(self, symbol: str, side: str, price: Decimal) -> bool:
        """Whether a limit order at ``price`` would take against the set best bid/ask."""
        quote = self.quotes.get(symbol)
        if quote is None:
            return False
        bid, ask = quote
        return price >= ask if side == "buy" else price <= bid

    # ---- the test's hand -------------------------------------------------------------------
    def fill(self, order: Order, qty: Decimal, price: Decimal, *, maker: bool = True) -> Fill:
        """Execute ``qty`` of a resting order at ``price``; balances/positions follow."""
        if not order.is_open:
            raise ValueError(f"order {order.client_id!r} is {order.status}, it cannot fill")
        _require_positive("fill qty", qty)
        _require_positive("fill price", price)
        if qty > order.remaining:
            raise ValueError(f"fill qty {qty} outside (0, {order.remaining}]")
        spec = self.market(order.symbol)
        rate = self.maker_fee if maker else self.taker_fee
        fee_in_base = spec.kind == "spot" and order.side == "buy"
        fee = qty * rate if fee_in_base else qty * price * rate
        fee_asset = spec.base if fee_in_base else spec.quote
        if spec.kind == "spot" and self.fee_payment is not None:
            fee_asset, asset_price = self.fee_payment
            fee = qty * price * rate / asset_price
            self.balance(fee_asset).free -= fee
            realized = self._settle(spec, order, qty, price, ZERO)
        else:
            realized = self._settle(spec, order, qty, price, fee)
        order.filled += qty
        order.filled_quote += qty * price
        order.status = "filled" if order.remaining == 0 else "partially_filled"
        order.updated_ms = self.clock_ms()
        fill = Fill(
            next(self._trade_ids),
            order.order_id,
            order.client_id,
            order.symbol,
            order.side,
            price,
            qty,
            maker,
            fee,
            fee_asset,
            order.updated_ms,
            realized,
        )
        self.fills.append(fill)
        symbols = (order.symbol,) if spec.kind == "linear" else ()
        assets = (spec.quote,) if spec.kind == "linear" else (spec.base, spec.quote)
        if fee_asset not in assets:
            assets += (fee_asset,)
        self._emit(LedgerEvent("trade", order, fill, assets, symbols))
        return fill

    def seed_order(
        self, symbol: str, side: str, qty: Decimal, price: Decimal, client_id: str
    ) -> Order:
        """Rest an order without the post-only cross check (one the engine did not place)."""
        return self.place(symbol, side, qty, price, client_id, post_only=False)

    # ---- internals -------------------------------------------------------------------------
    def _check_filters(self, spec: MarketSpec, qty: Decimal, price: Decimal) -> None:
        if not (spec.min_price <= price <= spec.max_price) or price % spec.tick:
            raise Reject(RejectReason.PRICE_FILTER, f"price {price} tick {spec.tick}")
        if not (spec.min_qty <= qty <= spec.max_qty) or qty % spec.lot:
            raise Reject(RejectReason.LOT_SIZE, f"quantity {qty} lot {spec.lot}")
        if qty * price < spec.min_notional:
            raise Reject(RejectReason.MIN_NOTIONAL, f"{qty * price} < {spec.min_notional}")

    def _check_reduce_only(self, symbol: str, side: str, qty: Decimal) -> None:
        pos = self.position(symbol).qty
        if (side == "buy" and pos >= 0) or (side == "sell" and pos <= 0) or qty > abs(pos):
            raise Reject(RejectReason.REDUCE_ONLY)

    def _lock(self, spec: MarketSpec, order: Order, qty: Decimal) -> tuple[str, ...]:
        if spec.kind != "spot":
            return ()
        asset, amount = (spec.quote, qty * order.price) if order.side == "buy" else (spec.base, qty)
        bal = self.balance(asset)
        if bal.free < amount:
            raise Reject(RejectReason.INSUFFICIENT_BALANCE, f"{asset} free {bal.free} < {amount}")
        bal.free -= amount
        bal.locked += amount
        return (asset,)

    def _unlock(self, spec: MarketSpec, order: Order, qty: Decimal) -> tuple[str, ...]:
        if spec.kind != "spot":
            return ()
        asset, amount = (spec.quote, qty * order.price) if order.side == "buy" else (spec.base, qty)
        bal = self.balance(asset)
        bal.locked -= amount
        bal.free += amount
        return (asset,)

    def _settle(
        self, spec: MarketSpec, order: Order, qty: Decimal, price: Decimal, fee: Decimal
    ) -> Decimal:
        quote = self.balance(spec.quote)
        if spec.kind == "spot":
            base = self.balance(spec.base)
            if order.side == "buy":
                quote.locked -= qty * order.price
                quote.free += qty * (order.price - price)
                base.free += qty - fee
            else:
                base.locked -= qty
                quote.free += qty * price - fee
            return ZERO
        pos = self.position(order.symbol)
        signed = qty if order.side == "buy" else -qty
        realized = ZERO
        if pos.qty and (pos.qty > 0) != (signed > 0):
            closed = min(abs(signed), abs(pos.qty))
            direction = 1 if pos.qty > 0 else -1
            realized = closed * (price - pos.entry) * direction
        new_qty = pos.qty + signed
        if new_qty == 0:
            pos.entry = ZERO
        elif pos.qty == 0 or (pos.qty > 0) != (new_qty > 0):
            pos.entry = price
        elif (pos.qty > 0) == (signed > 0):
            pos.entry = (pos.entry * abs(pos.qty) + price * qty) / abs(new_qty)
        pos.qty = new_qty
        pos.realized += realized
        quote.free += realized - fee
        return realized

    def _emit(self, event: LedgerEvent) -> None:
        for listener in list(self.listeners):
            listener(event)


def _require_positive(name: str, value: Decimal) -> Decimal:
    """``value`` if it is a finite number above zero, else ValueError naming ``name``."""
    if not isinstance(value, Decimal) or not value.is_finite() or value <= 0:
        raise ValueError(f"{name} must be a finite number above zero, got {value!r}")
    return value
