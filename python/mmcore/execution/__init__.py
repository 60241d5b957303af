"""Order state machine, order manager, the venue interface and the paper venue."""

from mmcore.execution.manager import ExecutionConfig, OrderManager, RiskGate, Target
from mmcore.execution.orders import (
    ACTIVE_STATUSES,
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
from mmcore.execution.paper import PaperConfig, PaperVenue, Trade
from mmcore.execution.venue import OrderRequest, Venue

__all__ = [
    "ACTIVE_STATUSES",
    "AmendRejected",
    "CancelRejected",
    "ExecutionConfig",
    "Order",
    "OrderAcked",
    "OrderAmended",
    "OrderCancelled",
    "OrderExpired",
    "OrderFilled",
    "OrderManager",
    "OrderRejected",
    "OrderRequest",
    "OrderStatus",
    "PaperConfig",
    "PaperVenue",
    "RiskGate",
    "Side",
    "Target",
    "Trade",
    "Venue",
    "VenueEvent",
]
