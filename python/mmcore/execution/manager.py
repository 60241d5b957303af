"""Order manager: keeps the working orders of one symbol close to the target quotes.

Each reconcile diffs the targets against working orders. A working order is kept while its
price is within the tolerance (ticks or bps, whichever is wider), its open size within
``size_tolerance`` of the target and its age under ``max_order_age_s``: this hysteresis stops
churn. Unmatched orders are cancelled first, then missing targets are placed through the risk
gate, which may shrink or veto them (limits count working orders, including pending cancels).

The bookkeeping (diff, client ids, order state machine, duplicate fills) runs in Rust
(:class:`mmcore._core.OrderDesk`, ``rust/orders/``). With the paper venue, orders and venue
events pass between the desk and the simulator without Python objects; any other venue gets
:class:`OrderRequest` objects and its events are applied one by one (:meth:`on_event`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

from mmcore._core import OrderDesk, PaperSim, PreTradeGate
from mmcore.config import bounded
from mmcore.execution.orders import (
    SIDE_BY_SIGN,
    AmendRejected,
    CancelRejected,
    Order,
    OrderAcked,
    OrderAmended,
    OrderCancelled,
    OrderExpired,
    OrderFilled,
    OrderRejected,
    OrderStatus,
    Side,
    VenueEvent,
)
from mmcore.execution.paper import PaperVenue, fill_from_tuple
from mmcore.execution.venue import OrderRequest, Venue

__all__ = ["ExecutionConfig", "OrderListener", "OrderManager", "RiskGate", "Target"]

_STATUSES = tuple(OrderStatus)  # indexed by the Rust core's status codes
_STATUS_CODES = {status: code for code, status in enumerate(_STATUSES)}
# OrderDesk.apply's event codes, and the attribute that carries its text (venue or fill id)
_EVENT_CODES: dict[type, tuple[int, str | None]] = {
    OrderAcked: (0, "venue_id"),
    OrderRejected: (1, None),
    OrderFilled: (2, "fill_id"),
    OrderCancelled: (3, None),
    CancelRejected: (4, None),
    OrderExpired: (5, None),
    OrderAmended: (6, None),
    AmendRejected: (7, None),
}


#: A target quote: ``(price_ticks, lots)``, integers (``mmcore.strategy.Quote`` is one): sizes
#: reach the desk in whole lots of the desk's ``lot_size``, never as floats.
Target = tuple[int, int]
#: The pre-trade check of each new order: ``RiskManager.gate`` (a
#: :class:`~mmcore._core.PreTradeGate`, consulted without calling Python) or any callable
#: ``(side +1/-1, price_ticks, qty, working_same_side, now) → allowed qty`` (0 vetoes).
RiskGate = PreTradeGate | Callable[[int, int, float, float, float], float]
#: ``(order snapshot, event kind, ts, detail)``: told of every order event (for the journal):
#: ``submitted``, ``cancel_sent``, ``amend_sent`` and each venue event by its class name.
OrderListener = Callable[[Order, str, float, str], None]


@dataclass(frozen=True, slots=True)
class ExecutionConfig:
    """Requote hysteresis, client ids and the orders tracked at most (pending cancels included;
    beyond ``max_open_orders`` new targets are vetoed, so a venue that stops answering cannot
    make requotes pile orders up)."""

    tolerance_ticks: int = bounded(1, ge=0)
    tolerance_bps: float = bounded(0.0, ge=0)
    size_tolerance: float = bounded(0.25, ge=0, le=1)
    max_order_age_s: float = bounded(30.0, gt=0)
    client_id_prefix: str = "mm"
    recent_fill_ids: int = bounded(10_000, ge=100)
    max_open_orders: int = bounded(200, ge=1, le=10_000)


class _VenueRouter:
    """Sends the desk's orders and cancels to a venue with the Python interface."""

    __slots__ = ("post_only", "symbol", "venue")

    def __init__(self, venue: Venue, symbol: str, post_only: bool = True) -> None:
        self.venue = venue
        self.symbol = symbol
        self.post_only = post_only

    def send_order(self, client_id: str, side: int, price_ticks: int, qty: float, now: float):
        side_ = SIDE_BY_SIGN[side]
        request = OrderRequest(client_id, self.symbol, side_, price_ticks, qty, self.post_only)
        self.venue.submit(request, now)

    def send_cancel(self, client_id: str, now: float) -> None:
        self.venue.cancel(client_id, now)

    def send_amend(self, client_id: str, qty: float, now: float) -> None:
        self.venue.amend(client_id, qty, now)  # type: ignore[attr-defined]  # supports_amend


def _order(symbol: str, row: tuple) -> Order:
    cid, side, price, qty, filled, created, updated, code, venue_id, anomalies = row
    return Order(
        cid,
        symbol,
        SIDE_BY_SIGN[side],
        price,
        qty,
        created,
        updated,
        filled,
        _STATUSES[code],
        venue_id,
        anomalies,
    )


def _lot_size(gate: RiskGate | None, sim: PaperSim | None) -> float:
    """The lot the desk counts in: the Rust gate's, else the paper venue's, else 1e-8. A gate
    and a paper venue counting in different lots are refused (a size would mean two things)."""
    lots = {x.lot_size for x in (gate, sim) if isinstance(x, PreTradeGate | PaperSim)}
    if len(lots) > 1:
        raise ValueError(f"lot_size: the gate and the paper venue differ ({sorted(lots)})")
    return lots.pop() if lots else 1e-8


class OrderManager:
    """Working orders of one symbol on one venue.

    Venue events are taken with :meth:`take_events` (or applied one by one with
    :meth:`on_event`); ``listener``, when set, is told of every order event (the engine's
    journal hook).
    """

    def __init__(
        self,
        symbol: str,
        venue: Venue,
        cfg: ExecutionConfig,
        gate: RiskGate | None = None,
    ) -> None:
        self.symbol = symbol
        self.venue = venue
        self.cfg = cfg
        self.gate = gate
        self.listener: OrderListener | None = None
        self._sim = venue.sim if isinstance(venue, PaperVenue) else None
        self._desk = OrderDesk(
            symbol,
            f"{cfg.client_id_prefix}-{symbol}-",
            lot_size=_lot_size(gate, self._sim),
            tolerance_ticks=float(cfg.tolerance_ticks),
            tolerance_bps=cfg.tolerance_bps,
            size_tolerance=cfg.size_tolerance,
            max_order_age_s=cfg.max_order_age_s,
            recent_fill_ids=cfg.recent_fill_ids,
            max_open_orders=cfg.max_open_orders,
            # reduce a size in place (queue position kept) where the venue can
            can_amend=bool(getattr(venue, "supports_amend", False)),
        )
        self._route = self._sim if self._sim is not None else _VenueRouter(venue, symbol)
        self._taker_route = _VenueRouter(venue, symbol, post_only=False)

    # -- counters and views ---------------------------------------------------------------
    @property
    def desk(self) -> OrderDesk:
        """The Rust order desk (the engine step diffs it directly)."""
        return self._desk

    @property
    def placed(self) -> int:
        """Orders placed."""
        return self._desk.placed

    @property
    def cancels(self) -> int:
        """Cancels sent."""
        return self._desk.cancels

    @property
    def lot_size(self) -> float:
        """The lot every size of the desk (orders, fills) is a whole number of."""
        return self._desk.lot_size

    @property
    def amends(self) -> int:
        """Amends sent (sizes reduced in place)."""
        return self._desk.amends

    @property
    def vetoed(self) -> int:
        """Targets not sent: vetoed by the gate, of no size, or at a price at or below zero."""
        return self._desk.vetoed

    @property
    def anomalies(self) -> int:
        """Out-of-order or impossible venue events absorbed."""
        return self._desk.anomalies

    @property
    def orders(self) -> dict[str, Order]:
        """Snapshots of the active orders by client id (terminal orders have left)."""
        return {row[0]: _order(self.symbol, row) for row in self._desk.orders()}

    def order(self, client_id: str) -> Order | None:
        """A snapshot of the active order ``client_id``, or None."""
        row = self._desk.order(client_id)
        return None if row is None else _order(self.symbol, row)

    def next_client_id(self) -> str:
        """A fresh client order id."""
        return self._desk.next_client_id()

    def working(self, side: Side) -> float:
        """Open size of all orders on ``side`` that may still fill (pending cancels count)."""
        return self._desk.working(int(side))

    # -- orders out -----------------------------------------------------------------------
    def reconcile(
        self,
        bids: Iterable[Target],
        asks: Iterable[Target],
        fair_ticks: float,
        now: float,
        *,
        post_only: bool = True,
    ) -> list[str]:
        """Bring working orders towards the targets (``(price_ticks, lots)``, best first);
        returns the client ids of the orders newly placed. ``post_only=False`` sends them as
        plain limit orders that may take liquidity (the risk manager's capped flatten order).
        A float size raises ``TypeError``, a negative one ``ValueError``."""
        route = self._route if post_only else self._taker_route
        sent = self._desk.reconcile(bids, asks, fair_ticks, now, self.gate, route)
        placed, cancelled, amended = sent
        if self.listener is not None and (placed or cancelled or amended):
            self._tell("cancel_sent", cancelled, now)
            self._tell("amend_sent", amended, now)
            self._tell("submitted", placed, now)
        return placed

    def flush(self, now: float, detail: str = "", *, taker: bool = False) -> list[str]:
        """Send the orders and cancels the engine step left on the desk (the listener is told
        of each, cancels with ``detail``); returns the client ids of the orders placed.
        ``taker`` sends them as plain limit orders that may take liquidity (the flatten
        order)."""
        route = self._taker_route if taker else self._route
        placed, cancelled, amended = self._desk.flush(route, now)
        if self.listener is not None and (placed or cancelled or amended):
            self._tell("cancel_sent", cancelled, now, detail)
            self._tell("amend_sent", amended, now)
            self._tell("submitted", placed, now)
        return placed

    def cancel_all(self, now: float, reason: str = "") -> int:
        """Cancel every working order (``reason`` goes to the listener); returns how many
        cancels were sent."""
        cancelled = self._desk.cancel_all(self._route, now)
        if self.listener is not None:
            self._tell("cancel_sent", cancelled, now, reason)
        return len(cancelled)

    def _tell(self, kind: str, client_ids: list[str], now: float, detail: str = "") -> None:
        listener = self.listener
        for client_id in client_ids:
            order = self.order(client_id)
            if order is not None and listener is not None:  # None: refused on the spot
                listener(order, kind, now, detail)

    # -- events in ------------------------------------------------------------------------
    def take_events(self, now: float) -> list[OrderFilled]:
        """Apply the venue events that have reached us by ``now``; returns the new fills
        (a fill for an order no longer tracked included, so the position still sees it)."""
        listener = self.listener
        if self._sim is None:
            fills = []
            for event in self.venue.poll(now):
                order, new = self.on_event(event)
                if not new:
                    continue
                if isinstance(event, OrderRejected) and event.retry_after_s > 0:
                    self._pause_new_orders(event.ts + event.retry_after_s)
                if isinstance(event, OrderFilled):
                    fills.append(event)
                if order is not None and listener is not None:
                    listener(order, type(event).__name__, event.ts, "")
            return fills
        raw, records = self._desk.take(self._sim, now, listener is not None)
        if records:
            for kind, ts, row in records:
                listener(_order(self.symbol, row), kind, ts, "")  # type: ignore[misc]
        return [fill_from_tuple(fill) for fill in raw] if raw else raw

    def _pause_new_orders(self, until: float) -> None:
        """The venue refuses new orders until ``until``: the gate places none before then
        (cancels go on). A gate that is a Python callable cannot be paused; the venue's
        refusals then keep answering each new order."""
        if isinstance(self.gate, PreTradeGate):
            self.gate.pause_new_orders(until)

    def on_event(self, event: VenueEvent) -> tuple[Order | None, bool]:
        """Apply one venue event: ``(the order after it, or None if not tracked; event is
        new)``. A duplicate fill (same ``fill_id``) is not new and changes nothing. An order
        that reaches a terminal state leaves :attr:`orders`."""
        known = _EVENT_CODES.get(type(event))
        if known is None:
            raise TypeError(f"not a venue event: {event!r}")
        code, text_field = known
        text = getattr(event, text_field) if text_field else ""
        qty = event.qty if code in (2, 6) else 0.0  # type: ignore[union-attr]
        row, new = self._desk.apply(code, event.client_id, event.ts, text, qty)
        return (None if row is None else _order(self.symbol, row)), new

    # -- restart --------------------------------------------------------------------------
    def restore(self, orders: Iterable[Order], last_client_seq: int) -> None:
        """Adopt open orders known from the journal (after a restart); new client ids
        continue after ``last_client_seq`` so none is reused. The desk keeps integer
        sequences: an order whose client id is not ``{client_id_prefix}-{symbol}-{n}`` raises
        ``ValueError`` naming ``client_id`` and nothing is adopted."""
        rows = [
            (
                o.client_id,
                int(o.side),
                o.price_ticks,
                o.qty,
                o.filled,
                o.created,
                o.updated,
                _STATUS_CODES[o.status],
                o.venue_id,
                o.anomalies,
            )
            for o in orders
        ]
        self._desk.restore(rows, last_client_seq)

    def forget(self, client_id: str, now: float) -> Order | None:
        """Drop an order the venue no longer holds (found on restart): its snapshot, marked
        expired, or None when it is not tracked."""
        row = self._desk.forget(client_id, now)
        return None if row is None else _order(self.symbol, row)
