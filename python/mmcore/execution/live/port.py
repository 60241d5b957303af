"""What a symbol's venue and the dead-man switch use of their session (implemented by
:class:`~mmcore.execution.live.session.LiveSession`; a protocol, so the modules depend on
the session one way)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Coroutine
from typing import Any, Protocol

from mmcore.execution.live.client_ids import VenueIds
from mmcore.execution.live.ratelimit import RateGuard

__all__ = ["SessionPort"]


class SessionPort(Protocol):
    """The session services: the client, ids, clock, rate guard, requests, tasks, journal."""

    name: str
    exchange: Any
    profile: Any  # VenueProfile
    cfg: Any  # LiveConfig
    ids: VenueIds
    guard: RateGuard
    ready: bool
    venues: dict[str, Any]  # symbol -> LiveVenue
    clock: Callable[[], float]

    def refusal(self) -> tuple[str, float] | None:
        """Why no new order may be sent now, and for how long at most (0: unknown)."""
        ...

    def server_ms(self) -> float:
        """The venue's clock now (ms)."""
        ...

    async def request(
        self,
        client_id: str,
        detail: str,
        call: Callable[[], Awaitable[Any]],
        *,
        retry_ambiguous: bool = False,
    ) -> tuple[Any, str]:
        """Send one journalled request: ``(result, kind)``."""
        ...

    def spawn(self, coro: Coroutine[Any, Any, Any], name: str) -> Any:
        """Run ``coro`` as a task the session owns."""
        ...

    async def fetch_open(self, venue: Any) -> list[dict[str, Any]]:
        """The venue's open orders of one symbol."""
        ...

    async def fetch_by_client_id(self, venue: Any, venue_client_id: str) -> dict | None:
        """The venue's order with this client id, or None."""
        ...

    async def resolve_unknown(self, venue: Any, order: Any) -> None:
        """Query an UNKNOWN order until its fate is known."""
        ...

    async def reconcile_symbol(self, venue: Any) -> None:
        """Open orders and fills of one symbol over REST."""
        ...

    def first_sight(self, market_symbol: str, trade_id: str) -> bool:
        """True the first time a trade id is seen."""
        ...

    def note_trade(self, trade: dict[str, Any]) -> None:
        """Remember the newest trade time."""
        ...

    def journal_event(self, client_id: str, kind: str, detail: str) -> None:
        """Record one request or outcome."""
        ...

    def resume(self) -> None:
        """Lift the session's halt after a ban."""
        ...
