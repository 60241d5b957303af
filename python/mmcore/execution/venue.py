"""The venue interface the order manager talks to: the paper venue and the live venues
(:mod:`mmcore.execution.live`) implement it."""

from __future__ import annotations

from typing import NamedTuple, Protocol, runtime_checkable

from mmcore.execution.orders import Side, VenueEvent

__all__ = ["AmendingVenue", "CancelAllVenue", "OrderRequest", "ReadinessVenue", "Venue"]


class OrderRequest(NamedTuple):
    """A new limit order. ``post_only`` orders are rejected rather than filled if they cross."""

    client_id: str
    symbol: str
    side: Side
    price_ticks: int
    qty: float
    post_only: bool = True


class Venue(Protocol):
    """Order entry. Calls never block; results come back as events from :meth:`poll`."""

    def submit(self, request: OrderRequest, now: float) -> None:
        """Send a new order."""
        ...

    def cancel(self, client_id: str, now: float) -> None:
        """Ask to cancel an order."""
        ...

    def poll(self, now: float) -> list[VenueEvent]:
        """Events that have reached us by ``now`` (acks, rejects, fills, cancels), in order."""
        ...

    def open_orders(self, symbol: str) -> set[str]:
        """Client ids the venue holds open for ``symbol`` (used to reconcile after a restart)."""
        ...


class AmendingVenue(Venue, Protocol):
    """A venue that can reduce an order's size in place, keeping its queue position (as
    venues do for a reduction). It says so with ``supports_amend = True``; the order manager
    then amends an order whose size is too large instead of cancelling and replacing it.
    Answers come back as ``OrderAmended`` or ``AmendRejected`` (or ``OrderCancelled`` when
    the order had filled the new size or more)."""

    supports_amend: bool

    def amend(self, client_id: str, qty: float, now: float) -> None:
        """Ask to reduce the order to ``qty`` in total (its filled part included)."""
        ...


@runtime_checkable
class ReadinessVenue(Protocol):
    """A venue that can be temporarily unable to take orders safely (a live venue while its
    private streams are being reconciled, or after a ban)."""

    @property
    def ready(self) -> bool:
        """False while the engine must not quote."""
        ...


@runtime_checkable
class CancelAllVenue(Protocol):
    """A venue that can cancel every open order of a symbol in one request, the orders the
    engine does not track included (a live venue: orders adopted at start, an order whose
    ack has not arrived)."""

    def cancel_all(self, symbol: str, now: float) -> None:
        """Cancel every open order of ``symbol`` at the venue, tracked or not."""
        ...
