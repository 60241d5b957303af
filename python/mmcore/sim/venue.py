"""The simulated market served over real loopback websocket + REST endpoints.

:class:`SimMarket` runs one :class:`~mmcore.sim.flow.OrderFlow` in simulated time (``speed``
simulated seconds per wall second; ``0`` = as fast as the event loop allows) and publishes
every event, in order, to the symbol's venue server. The servers speak Binance spot's and
Bybit v5 spot's wire formats (combined streams + REST depth; orderbook snapshot + deltas), so
clients connect with the ordinary feeds exactly as they would to the real venues.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from mmcore.analytics.pnl import Interval
from mmcore.sim.flow import OrderFlow, SimBook, SymbolSpec
from mmcore.sim.wire.binance import BinanceWire
from mmcore.sim.wire.bybit import BybitWire
from mmcore.sim.wire.flow import BookChange
from mmcore.sim.wire.server import WireVenue

__all__ = ["SIM_VENUES", "SimListing", "SimMarket"]

SIM_VENUES = ("binance-spot", "bybit-spot")
_PUMP_S = 0.005  # wall-clock period of the publishing pump in real time
_MAX_BACKLOG = 2_000  # frames queued for one client: the pump waits (bounded memory)
_INFORMED_LABEL = "informed flow"


class _Served:
    """Turns a wire-format server into a passive one that publishes the sim's events."""

    books: dict[str, Any]

    def adopt(self, books: Mapping[str, SimBook]) -> None:
        self.books = dict(books)

    def publish(self, symbol: str, item: Any) -> None:
        if isinstance(item, BookChange):
            message = self._book_message(symbol, item)  # type: ignore[attr-defined]
            if self._drop[symbol] > 0:  # type: ignore[attr-defined]
                # the drop_next fault: made (its sequence numbers used), sent to nobody
                self._drop[symbol] -= 1  # type: ignore[attr-defined]
                return
            self._broadcast(self._book_topic(symbol), message)  # type: ignore[attr-defined]
        else:
            self._broadcast(self._trade_topic(symbol), self._trade_message(symbol, item))  # type: ignore[attr-defined]


class _SimBinance(_Served, BinanceWire):
    """Binance spot wire format over the sim's books."""


class _SimBybit(_Served, BybitWire):
    """Bybit v5 spot wire format over the sim's books."""


@dataclass(frozen=True, slots=True)
class SimListing:
    """A symbol listed on one simulated venue."""

    venue: str
    spec: SymbolSpec

    def __post_init__(self) -> None:
        if self.venue not in SIM_VENUES:
            raise ValueError(f"sim venue must be one of {SIM_VENUES}, got {self.venue!r}")


class SimMarket:
    """Simulated venues on loopback; ``async with SimMarket(...) as market: market.ws_url(v)``."""

    def __init__(self, listings: list[SimListing], *, seed: int = 1, speed: float = 1.0) -> None:
        if speed < 0:
            raise ValueError(f"speed must be >= 0 (0 = as fast as possible), got {speed}")
        self.listings = listings
        self.speed = speed
        self.flow = OrderFlow([x.spec for x in listings], seed)
        self.published = 0
        books = self.flow.books
        self._servers: dict[str, WireVenue] = {}
        self._route: dict[str, _Served] = {}
        for venue in dict.fromkeys(x.venue for x in listings):
            symbols = [x.spec.symbol for x in listings if x.venue == venue]
            cls = _SimBinance if venue == "binance-spot" else _SimBybit
            server = cls(symbols, interval=None, warmup=0, seed=seed)
            server.adopt({s: books[s] for s in symbols})
            self._servers[venue] = server
            self._route.update(dict.fromkeys(symbols, server))
        self._task: asyncio.Task[None] | None = None
        #: ``time.monotonic()`` when simulated time 0 was (the pump's start)
        self.clock_start: float | None = None

    @property
    def venues(self) -> tuple[str, ...]:
        """The venues served."""
        return tuple(self._servers)

    def symbols(self, venue: str) -> tuple[str, ...]:
        """The symbols listed on ``venue``."""
        return tuple(x.spec.symbol for x in self.listings if x.venue == venue)

    def ws_url(self, venue: str) -> str:
        """The websocket base URL a feed for ``venue`` connects to."""
        server = self._servers[venue]
        return server.ws_url  # type: ignore[attr-defined]

    def rest_url(self, venue: str) -> str:
        """The REST base URL of ``venue``."""
        return self._servers[venue].rest_url

    def server(self, venue: str) -> WireVenue:
        """``venue``'s wire server, whose fault injection (``kill_connections``,
        ``drop_next``, ``send_malformed``...) tests and the soak use."""
        return self._servers[venue]

    async def start(self) -> SimMarket:
        """Listen on loopback (ports chosen by the OS) and start the flow."""
        for server in self._servers.values():
            await server.start()
        self._task = asyncio.create_task(self._pump(), name="sim-market")
        return self

    async def stop(self) -> None:
        """Stop the flow and close every server."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        for server in self._servers.values():
            await server.stop()

    async def __aenter__(self) -> SimMarket:
        return await self.start()

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    def step(self, sim_seconds: float) -> int:
        """Advance the flow by ``sim_seconds`` now and publish its events; returns how many."""
        events = self.flow.advance(sim_seconds)
        route = self._route
        for symbol, item in events:
            route[symbol].publish(symbol, item)
        self.published += len(events)
        return len(events)

    def backlog(self) -> int:
        """The most frames queued for any one client."""
        return max(
            (c.outbox.qsize() for s in self._servers.values() for c in s.connections), default=0
        )

    def informed_intervals(self) -> list[Interval]:
        """The informed-flow episodes so far, on the ``time.monotonic()`` clock (an episode
        still running ends where it is due to). Empty at speed 0: simulated time is then not
        tied to the clock."""
        if self.speed == 0 or self.clock_start is None:
            return []
        t0, speed = self.clock_start, self.speed
        return [
            Interval(e.symbol, t0 + e.start / speed, t0 + e.end / speed, _INFORMED_LABEL)
            for e in self.flow.episodes
        ]

    async def _pump(self) -> None:
        # simulated time advances by the clock's elapsed time x speed, so simulated second s
        # is at clock_start + s / speed
        last = self.clock_start = time.monotonic()
        while True:
            await asyncio.sleep(0 if self.speed == 0 else _PUMP_S)
            while self.backlog() > _MAX_BACKLOG:  # a slow client slows the market down
                await asyncio.sleep(_PUMP_S)
            now = time.monotonic()
            # speed 0: fixed simulated slices as fast as the loop turns
            self.step(_PUMP_S if self.speed == 0 else (now - last) * self.speed)
            last = now
