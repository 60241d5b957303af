"""What differs between venues on the wire: URLs, subscribe frames, heartbeat, resync method."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal, Self

__all__ = ["SnapshotRequest", "VenueProtocol"]


@dataclass(frozen=True, slots=True)
class SnapshotRequest:
    """A REST book snapshot call: path and query under the REST base URL, and its weight."""

    path: str
    params: dict[str, str]
    weight: int


class VenueProtocol:
    """Base of the per-venue wire rules; subclasses override what their venue needs.

    ``resync`` is how one symbol's book is rebuilt after a gap: ``"rest"`` (fetch a snapshot,
    diffs keep being buffered by the core) or ``"resubscribe"`` (the venue then sends an in-band
    snapshot). ``rest_snapshots`` says the venue also has a REST snapshot the core can sync
    from; it is fetched whenever the core buffers diffs waiting for a snapshot that did not
    come in-band (OKX after it stopped sending initial snapshots in 2026).

    ``heartbeat`` is the text frame to send every ``heartbeat_interval_s`` (``None``: the
    server pings and the websocket library answers). ``heartbeat_when_idle`` sends it only
    when nothing arrived for that long (OKX).

    Per-connection limits: every symbol costs :meth:`symbol_cost` units of the venue's
    ``connection_capacity`` (Binance: streams, Bybit: characters of topics), and
    :meth:`connection_groups` packs the symbols into as few connections as fit.
    ``subscribe_interval_s`` spaces the subscribe frames of one connection and
    ``connect_interval_s`` the opening of successive connections.
    """

    resync: Literal["rest", "resubscribe"] = "resubscribe"
    rest_snapshots = False
    heartbeat: str | None = None
    heartbeat_when_idle = False
    rotates_connections = False  # Binance: make-before-break on serverShutdown / 24 h
    connection_capacity: float = math.inf
    subscribe_interval_s = 0.0
    connect_interval_s = 0.0

    def __init__(self, venue: str, symbols: tuple[str, ...], book_depth: int, snapshot_limit: int):
        self.venue = venue
        self.symbols = symbols
        self.book_depth = book_depth
        self.snapshot_limit = snapshot_limit

    def for_symbols(self, symbols: tuple[str, ...]) -> Self:
        """The same wire rules for a subset of the symbols (one connection's share)."""
        return type(self)(self.venue, symbols, self.book_depth, self.snapshot_limit)

    def symbol_cost(self, symbol: str) -> float:
        """How much of ``connection_capacity`` one symbol's subscriptions use."""
        return 0.0

    def connection_groups(self) -> list[tuple[str, ...]]:
        """The symbols split, in order, into groups that each fit on one connection."""
        groups: list[tuple[str, ...]] = []
        group: list[str] = []
        used = 0.0
        for sym in self.symbols:
            cost = self.symbol_cost(sym)
            if cost > self.connection_capacity:
                raise ValueError(f"{self.venue}: {sym!r} alone exceeds one connection's limit")
            if group and used + cost > self.connection_capacity:
                groups.append(tuple(group))
                group, used = [], 0.0
            group.append(sym)
            used += cost
        groups.append(tuple(group))
        return groups

    def stream_url(self, ws_base: str) -> str:
        """The websocket URL to open (Binance puts the streams in it)."""
        return ws_base

    def subscribe_frames(self) -> list[str]:
        """Frames that subscribe every symbol's book and trades, sent right after connecting."""
        return []

    def resubscribe_frames(self, symbol: str) -> list[str]:
        """Frames that make the venue send ``symbol``'s book snapshot again."""
        return []

    @property
    def snapshot_on_subscribe(self) -> bool:
        """Subscribing brings each book's snapshot in-band (Bybit, OKX until 2026-08)."""
        return self.resync == "resubscribe"

    def snapshot_request(self, symbol: str) -> SnapshotRequest:
        """The REST snapshot call for ``symbol`` (venues with ``rest_snapshots``)."""
        raise NotImplementedError(f"{self.venue} has no REST snapshot")

    def snapshot_body(self, symbol: str, body: bytes) -> tuple[bytes, int | None]:
        """The REST answer as the core decodes it, and the snapshot's update id when a later
        diff must confirm it (``None``: the venue guarantees the ids match). Raises
        :class:`ValueError` for an answer that is an error, not a book."""
        return body, None

    def is_control(self, frame: bytes) -> bool:
        """True for frames the core does not decode that are fine (pong, acks)."""
        return False

    def is_shutdown(self, frame: bytes) -> bool:
        """True when the frame announces the server will close this connection soon."""
        return False

    def subscribe_error(self, frame: bytes) -> bool:
        """True when the frame rejects a subscription (logged; the resync timer retries)."""
        return False
