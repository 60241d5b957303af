"""Order manager: keeps the working orders of one symbol close to the target quotes.

Each reconcile diffs the targets against working orders. A working order is kept while its
price is within the tolerance (ticks or bps, whichever is wider), its open size within
``size_tolerance`` of the target and its age under ``max_order_age_s``: this hysteresis stops
churn. Unmatched orders are cancelled first, then missing targets are placed through the risk
gate, which may shrink or veto them (limits count working orders, including pending cancels).
"""

from __future__ import annotations

import itertools
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Protocol

from mmcore.config import bounded
from mmcore.execution.orders import Order, OrderFilled, OrderStatus, Side, VenueEvent
from mmcore.execution.venue import OrderRequest, Venue

__all__ = ["ExecutionConfig", "OrderManager", "RiskGate", "Target"]

_NEVER = float("inf")


class Target(Protocol):
    """A target quote (``mmcore.strategy.Quote`` fits): price in ticks, size in base units."""

    @property
    def price_ticks(self) -> int: ...

    @property
    def qty(self) -> float: ...


#: ``(side, price_ticks, qty, working_same_side, now) → allowed qty`` (0 vetoes the order).
RiskGate = Callable[[Side, int, float, float, float], float]


@dataclass(frozen=True, slots=True)
class ExecutionConfig:
    """Requote hysteresis and client ids."""

    tolerance_ticks: int = bounded(0, ge=0)
    tolerance_bps: float = bounded(0.0, ge=0)
    size_tolerance: float = bounded(0.25, ge=0, le=1)
    max_order_age_s: float = bounded(30.0, gt=0)
    client_id_prefix: str = "mm"
    recent_fill_ids: int = bounded(10_000, ge=100)


class OrderManager:
    """Working orders of one symbol on one venue; feed it venue events via :meth:`on_event`."""

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
        self.orders: dict[str, Order] = {}  # active orders only; terminal ones are dropped
        self._ids = itertools.count(1)
        self._id_prefix = f"{cfg.client_id_prefix}-{symbol}-"
        self._fill_ids: deque[str] = deque(maxlen=cfg.recent_fill_ids)
        self._fill_set: set[str] = set()
        # Fast path: the same targets as last time with no order change need no diff.
        self._last_targets: tuple[object, ...] | None = None
        self._changed = True
        self._expiry = _NEVER
        self._tol_ticks = float(cfg.tolerance_ticks)
        self._tol_frac = cfg.tolerance_bps * 1e-4
        self.placed = 0
        self.cancels = 0
        self.vetoed = 0
        self.anomalies = 0

    def next_client_id(self) -> str:
        """A fresh client order id."""
        return self._id_prefix + str(next(self._ids))

    def working(self, side: Side) -> float:
        """Open size of all orders on ``side`` that may still fill (pending cancels count)."""
        total = 0.0
        for o in self.orders.values():  # a loop, not sum(): runs for every order placed
            if o.side is side:
                total += o.remaining
        return total

    def reconcile(
        self, bids: Iterable[Target], asks: Iterable[Target], fair_ticks: float, now: float
    ) -> list[Order]:
        """Bring working orders towards the targets; returns the orders newly placed."""
        tol = self._tol_ticks
        if self._tol_frac:  # with no bps tolerance the ticks tolerance is the whole of it
            tol = max(tol, self._tol_frac * fair_ticks)
        key = (bids, asks, tol)
        if not self._changed and now < self._expiry and key == self._last_targets:
            return []
        max_age = self.cfg.max_order_age_s
        free_bids: list[Order] = []
        free_asks: list[Order] = []
        stale: list[Order] = []
        for o in self.orders.values():
            if o.status is not OrderStatus.PENDING_CANCEL:
                if now - o.created >= max_age:
                    stale.append(o)
                else:
                    (free_bids if o.side is Side.BUY else free_asks).append(o)
        new_bids, oldest_bid = self._match(free_bids, bids, tol)
        new_asks, oldest_ask = self._match(free_asks, asks, tol)
        for order in (*stale, *free_bids, *free_asks):  # too old, or matching no target
            self._cancel(order, now)
        placed = [o for q in new_bids if (o := self._place(Side.BUY, q, now)) is not None]
        placed += [o for q in new_asks if (o := self._place(Side.SELL, q, now)) is not None]
        self._last_targets = key
        # a vetoed target is retried on the next call (the gate may allow it by then)
        self._changed = len(placed) < len(new_bids) + len(new_asks)
        self._expiry = max_age + min(oldest_bid, oldest_ask, now if placed else _NEVER)
        return placed

    def cancel_all(self, now: float) -> int:
        """Cancel every working order; returns how many cancels were sent."""
        self._changed = True
        return sum(self._cancel(o, now) for o in list(self.orders.values()))

    def on_event(self, event: VenueEvent) -> tuple[Order | None, bool]:
        """Apply one venue event: ``(order or None if unknown, event is new)``.

        A duplicate fill (same ``fill_id``) is reported as not new and changes nothing. An
        order that reaches a terminal state leaves :attr:`orders`.
        """
        if isinstance(event, OrderFilled):
            if event.fill_id in self._fill_set:
                return self.orders.get(event.client_id), False
            if len(self._fill_ids) == self._fill_ids.maxlen:
                self._fill_set.discard(self._fill_ids[0])
            self._fill_ids.append(event.fill_id)
            self._fill_set.add(event.fill_id)
        order = self.orders.get(event.client_id)
        if order is None:
            return None, True
        self._changed = True
        if not order.apply(event) and order.anomalies:
            self.anomalies += 1
        if order.status.terminal:
            del self.orders[order.client_id]
        return order, True

    def restore(self, orders: Iterable[Order], last_client_seq: int) -> None:
        """Adopt open orders known from the journal (after a restart); new client ids
        continue after ``last_client_seq`` so none is reused."""
        self._ids = itertools.count(last_client_seq + 1)
        self._changed = True
        for order in orders:
            if not order.status.terminal:
                self.orders[order.client_id] = order

    def _match(
        self, free: list[Order], targets: Iterable[Target], tol: float
    ) -> tuple[list[Target], float]:
        """Pairs each target with the nearest ``free`` order within ``tol`` whose open size is
        close enough; paired orders leave ``free`` (what is left matches nothing). Returns
        the targets left unpaired and the oldest creation time among the paired orders."""
        size_tol = self.cfg.size_tolerance
        missing: list[Target] = []
        oldest = _NEVER
        for target in targets:
            best: Order | None = None
            best_dist = tol
            for o in free:
                dist = abs(o.price_ticks - target.price_ticks)
                if dist <= best_dist and abs(o.remaining - target.qty) <= size_tol * target.qty:
                    best, best_dist = o, dist
            if best is None:
                missing.append(target)
            else:
                free.remove(best)
                if best.created < oldest:
                    oldest = best.created
        return missing, oldest

    def _place(self, side: Side, quote: Target, now: float) -> Order | None:
        qty = quote.qty
        if self.gate is not None and qty > 0:
            qty = self.gate(side, quote.price_ticks, qty, self.working(side), now)
        if not qty > 0:  # a zero (or NaN) size is no order: venues refuse them
            self.vetoed += 1
            return None
        order = Order(self.next_client_id(), self.symbol, side, quote.price_ticks, qty, now)
        self.orders[order.client_id] = order
        self.placed += 1
        self.venue.submit(
            OrderRequest(order.client_id, self.symbol, side, quote.price_ticks, qty), now
        )
        return order

    def _cancel(self, order: Order, now: float) -> bool:
        if not order.request_cancel(now):
            return False
        self.cancels += 1
        self.venue.cancel(order.client_id, now)
        return True
