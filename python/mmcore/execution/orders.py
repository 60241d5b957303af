"""Orders, venue events and order states.

The order state machine runs in Rust (``rust/orders/``, behind
:class:`mmcore.execution.OrderManager`): fills are never dropped (a fill on an order in any
state, even one already cancelled when a fill raced the cancel, increases its filled quantity),
the state only moves along allowed transitions, and events that arrive out of order (a fill
before the ack, a late ack after the fill or cancel) are absorbed instead of corrupting it.
An :class:`Order` here is a snapshot of one order's state.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import NamedTuple

__all__ = [
    "ACTIVE_STATUSES",
    "SIDE_BY_SIGN",
    "CancelRejected",
    "Order",
    "OrderAcked",
    "OrderCancelled",
    "OrderExpired",
    "OrderFilled",
    "OrderRejected",
    "OrderStatus",
    "Side",
    "VenueEvent",
]


class Side(enum.IntEnum):
    """+1 buy, -1 sell (so ``side * qty`` is the signed position change)."""

    BUY = 1
    SELL = -1


#: ``Side`` by its sign, for tuples from the Rust core (faster than calling ``Side(sign)``).
SIDE_BY_SIGN = {1: Side.BUY, -1: Side.SELL}


class OrderStatus(enum.Enum):
    """Lifecycle of one order (in the order of the Rust core's status codes)."""

    PENDING_NEW = "pending_new"
    ACKED = "acked"
    PARTIALLY_FILLED = "partially_filled"
    FILLED = "filled"
    PENDING_CANCEL = "pending_cancel"
    CANCELLED = "cancelled"
    REJECTED = "rejected"
    EXPIRED = "expired"

    terminal: bool  # True for states an order never leaves (set below; enum hashing is slow)


_TERMINAL = frozenset(
    {OrderStatus.FILLED, OrderStatus.CANCELLED, OrderStatus.REJECTED, OrderStatus.EXPIRED}
)
for _status in OrderStatus:
    _status.terminal = _status in _TERMINAL
#: States in which an order may still fill (it counts against limits).
ACTIVE_STATUSES = frozenset(
    {
        OrderStatus.PENDING_NEW,
        OrderStatus.ACKED,
        OrderStatus.PARTIALLY_FILLED,
        OrderStatus.PENDING_CANCEL,
    }
)


@dataclass(frozen=True, slots=True)
class OrderAcked:
    """The venue accepted the order."""

    client_id: str
    ts: float
    venue_id: str = ""


@dataclass(frozen=True, slots=True)
class OrderRejected:
    """The venue refused the order (e.g. post-only would cross). ``retry_after_s`` > 0: the
    venue refuses every new order for that long (a rate window, a back-off), and the order
    manager pauses new orders until then instead of asking again at every requote."""

    client_id: str
    ts: float
    reason: str
    retry_after_s: float = 0.0


@dataclass(frozen=True, slots=True)
class OrderFilled:
    """An execution. ``fill_id`` is unique per venue, so replays are idempotent; the side
    is carried so a fill for an order we no longer know still reaches the portfolio."""

    client_id: str
    ts: float
    fill_id: str
    side: Side
    price_ticks: int
    qty: float
    fee: float
    maker: bool


@dataclass(frozen=True, slots=True)
class OrderCancelled:
    """The order is off the book (requested or unsolicited)."""

    client_id: str
    ts: float


@dataclass(frozen=True, slots=True)
class CancelRejected:
    """A cancel failed (usually: the order had already filled)."""

    client_id: str
    ts: float
    reason: str


@dataclass(frozen=True, slots=True)
class OrderAmended:
    """The venue reduced the order to ``qty`` in total (its filled part included), keeping
    its queue position."""

    client_id: str
    ts: float
    qty: float


@dataclass(frozen=True, slots=True)
class AmendRejected:
    """An amend failed (usually: the order had filled or left the book meanwhile)."""

    client_id: str
    ts: float
    reason: str


@dataclass(frozen=True, slots=True)
class OrderExpired:
    """The venue expired the order (time in force)."""

    client_id: str
    ts: float


VenueEvent = (
    OrderAcked
    | OrderRejected
    | OrderFilled
    | OrderCancelled
    | CancelRejected
    | OrderAmended
    | AmendRejected
    | OrderExpired
)


class Order(NamedTuple):
    """A snapshot of one order: what was sent and its state when the snapshot was taken."""

    client_id: str
    symbol: str
    side: Side
    price_ticks: int
    qty: float
    created: float
    updated: float
    filled: float = 0.0
    status: OrderStatus = OrderStatus.PENDING_NEW
    venue_id: str = ""
    anomalies: int = 0  # out-of-order or impossible events absorbed

    @property
    def remaining(self) -> float:
        """Quantity still open (0 once terminal)."""
        return 0.0 if self.status.terminal else max(0.0, self.qty - self.filled)

    @property
    def active(self) -> bool:
        """True while the order may still fill."""
        return not self.status.terminal

    def __repr__(self) -> str:
        return (
            f"Order({self.client_id} {self.side.name} {self.qty}@{self.price_ticks} "
            f"filled={self.filled} {self.status.value})"
        )
