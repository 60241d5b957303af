"""The venue-neutral part of a wire venue: loopback servers, the flow pump, faults.

One :class:`WireVenue` serves websocket and HTTP (REST snapshot) requests on a single loopback
port chosen by the OS. A pump steps every symbol's :class:`TrueBook` on a timer (or on demand
with :meth:`WireVenue.step`) and broadcasts each change to the connections subscribed to it.
Each outgoing message goes through one per-connection queue, so frame order is exactly the order
in which the venue produced them. Subclasses supply the wire format.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import time
from collections import Counter, deque
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Any
from urllib.parse import parse_qs

from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.datastructures import Headers
from websockets.exceptions import ConnectionClosed
from websockets.http11 import Request, Response

from mmcore.sim.wire.flow import BookChange, TradePrint, TrueBook

__all__ = ["RestHit", "WireConnection", "WireVenue", "compact_json", "now_ms"]


compact_json = json.JSONEncoder(separators=(",", ":")).encode


def now_ms() -> int:
    """Wall-clock milliseconds, the unit of venue event times."""
    return time.time_ns() // 1_000_000


@dataclass(slots=True)
class RestHit:
    """One REST request the fake answered, for assertions on client behaviour."""

    at: float  # time.monotonic()
    path: str
    query: dict[str, str]
    status: int
    weight: int = 0


@dataclass(eq=False)
class WireConnection:
    """One client websocket: its subscriptions (topic key → wire name) and its outbox."""

    ws: ServerConnection
    conn_id: int
    topics: dict[str, str] = field(default_factory=dict)
    stalled: bool = False
    outbox: asyncio.Queue[str] = field(default_factory=asyncio.Queue)
    received: list[str] = field(default_factory=list)
    received_at: deque[float] = field(default_factory=deque)  # monotonic, the last second

    def send(self, message: str) -> None:
        """Queue a frame; a stalled connection silently swallows it (the stale-feed fault)."""
        if not self.stalled:
            self.outbox.put_nowait(message)

    async def write_loop(self) -> None:
        with contextlib.suppress(ConnectionClosed):
            while True:
                await self.ws.send(await self.outbox.get())


class WireVenue:
    """Base of the per-venue fakes; use as ``async with BinanceWire([...]) as fake: ...``.

    ``interval`` is the pump period in seconds (``None``: no timer, drive with :meth:`step`).
    ``warmup`` rounds run before serving, so the book recorded at construction is older than
    anything a client can see (used by :meth:`serve_old_snapshot`).
    """

    trade_every = 3  # one trade print per symbol every N rounds
    #: inbound messages a second a connection may send before it is cut (None: no limit)
    max_inbound_per_s: int | None = None
    size_decimals = 3  # decimals of the size strings (COIN-M: 0, sizes are whole contracts)

    def __init__(
        self,
        symbols: list[str],
        *,
        seed: int = 1,
        interval: float | None = 0.005,
        depth: int = 10,
        warmup: int = 5,
        ping_interval: float | None = None,
        rest_latency_s: float = 0.0,
    ) -> None:
        if not symbols:
            raise ValueError("a fake venue needs at least one symbol")
        self.books = {
            s: TrueBook(s, seed=seed, depth=depth, size_decimals=self.size_decimals)
            for s in symbols
        }
        self.connections: list[WireConnection] = []
        self.rest_log: list[RestHit] = []
        self.rest_violations = 0  # requests made while a Retry-After was still running
        self.rounds = 0
        self._interval = interval
        self.rest_latency_s = rest_latency_s
        self._ping_interval = ping_interval
        self._paused = False
        self._ids = itertools.count(1)
        self._drop: Counter[str] = Counter()
        self._old_snapshots: Counter[str] = Counter()
        self._rate_limits: deque[tuple[int, float]] = deque()
        self._blocked_until = 0.0
        self._rest_delays: deque[float] = deque()
        self.rest_started = 0  # REST requests received (rest_log has the answered ones)
        self.rest_peak_in_flight = 0  # most REST requests being answered at the same time
        self._rest_in_flight = 0
        self.limit_violations: list[str] = []  # per-connection limits a client broke
        self._server: Server | None = None
        self._pump_task: asyncio.Task[None] | None = None
        self._tasks: set[asyncio.Task[Any]] = set()
        self._init_ids()
        self.initial = {s: self._snapshot_state(s) for s in symbols}
        for _ in range(warmup):
            self._round()

    # ---- lifecycle -------------------------------------------------------------------------
    async def start(self) -> WireVenue:
        """Start listening on 127.0.0.1 (port 0) and start the pump."""
        self._server = await serve(
            self._handle,
            "127.0.0.1",
            0,
            process_request=self._process_request,
            ping_interval=self._ping_interval,
            # a client that does not answer pings is cut after two periods (Binance: 1 min)
            ping_timeout=None if self._ping_interval is None else 2 * self._ping_interval,
            compression=None,
        )
        if self._interval is not None:
            self._pump_task = asyncio.create_task(self._pump())
        return self

    async def stop(self) -> None:
        """Stop the pump, close every connection and the listening socket."""
        if self._pump_task is not None:
            self._pump_task.cancel()
        for task in self._tasks:
            task.cancel()
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()

    async def __aenter__(self) -> WireVenue:
        return await self.start()

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    @property
    def port(self) -> int:
        """The TCP port the OS assigned."""
        assert self._server is not None, "start() the fake first"
        return self._server.sockets[0].getsockname()[1]

    @property
    def base_ws_url(self) -> str:
        """``ws://127.0.0.1:<port>``; venue subclasses add their path in ``ws_url``."""
        return f"ws://127.0.0.1:{self.port}"

    @property
    def rest_url(self) -> str:
        """Base URL of the REST endpoints (same port as the websocket)."""
        return f"http://127.0.0.1:{self.port}"

    # ---- flow ------------------------------------------------------------------------------
    def pause(self) -> None:
        """Stop producing book changes (connections stay open, control frames are answered)."""
        self._paused = True

    def resume(self) -> None:
        """Produce book changes again."""
        self._paused = False

    async def step(self, rounds: int = 1) -> None:
        """Produce ``rounds`` rounds now (even when paused) and let the writers flush."""
        for _ in range(rounds):
            self._round()
        await asyncio.sleep(0)

    def true_levels(self, symbol: str, side: str) -> list[tuple[float, float]]:
        """The true book side ("bids"/"asks") best first as floats, for level-for-level checks."""
        return self.books[symbol].float_levels(side)

    def last_update_id(self, symbol: str) -> int:
        """The venue's current update id for ``symbol`` (Binance ``u``, Bybit ``u``, OKX seqId)."""
        raise NotImplementedError

    async def _pump(self) -> None:
        assert self._interval is not None
        while True:
            await asyncio.sleep(self._interval)
            if not self._paused:
                self._round()

    def _round(self) -> None:
        self.rounds += 1
        for symbol, book in self.books.items():
            change = book.step()
            message = self._book_message(symbol, change)
            if self._drop[symbol] > 0:
                self._drop[symbol] -= 1
            else:
                self._broadcast(self._book_topic(symbol), message)
            if self.rounds % self.trade_every == 0:
                self._broadcast(
                    self._trade_topic(symbol), self._trade_message(symbol, book.trade())
                )

    def _broadcast(self, topic: str, message: str) -> None:
        for conn in self.connections:
            wire = conn.topics.get(topic)
            if wire is not None:
                conn.send(self._wrap(wire, message))

    # ---- faults ----------------------------------------------------------------------------
    def drop_next(self, symbol: str, count: int = 1) -> None:
        """Produce the next ``count`` book changes of ``symbol`` but send them to nobody."""
        self._drop[symbol] += count

    def kill_connections(self) -> int:
        """Abort every open connection mid-stream (no close frame); return how many."""
        conns = list(self.connections)
        for conn in conns:
            conn.ws.transport.abort()
        return len(conns)

    def stall_connections(self) -> int:
        """Open connections go silent (no data, no replies); new connections work normally."""
        for conn in self.connections:
            conn.stalled = True
        return len(self.connections)

    def send_malformed(self, count: int = 1) -> None:
        """Send ``count`` malformed frames on every open connection (the book is unchanged)."""
        for conn in self.connections:
            for i in range(count):
                conn.send(self._malformed_frame(i))

    def serve_old_snapshot(self, symbol: str, count: int = 1) -> None:
        """The next ``count`` snapshots of ``symbol`` are the (older) book from construction."""
        self._old_snapshots[symbol] += count

    def rate_limit(self, n_429: int = 1, n_418: int = 1, retry_after: float = 0.2) -> None:
        """The next REST calls get ``n_429`` x 429 then ``n_418`` x 418, each with Retry-After."""
        self._rate_limits.extend([(429, retry_after)] * n_429 + [(418, retry_after)] * n_418)

    def delay_rest(self, seconds: float, count: int = 1) -> None:
        """Deliver the next ``count`` REST answers ``seconds`` after they were taken (a snapshot
        still in flight while the book moves on)."""
        self._rest_delays.extend([seconds] * count)

    def _take_snapshot(
        self, symbol: str
    ) -> tuple[int, list[tuple[str, str]], list[tuple[str, str]]]:
        if self._old_snapshots[symbol] > 0:
            self._old_snapshots[symbol] -= 1
            return self.initial[symbol]
        return self._snapshot_state(symbol)

    def _snapshot_state(
        self, symbol: str
    ) -> tuple[int, list[tuple[str, str]], list[tuple[str, str]]]:
        book = self.books[symbol]
        return self.last_update_id(symbol), book.levels("bids"), book.levels("asks")

    # ---- websocket -------------------------------------------------------------------------
    async def _handle(self, ws: ServerConnection) -> None:
        conn = WireConnection(ws, next(self._ids))
        self.connections.append(conn)
        writer = asyncio.create_task(conn.write_loop())
        self._tasks.add(writer)
        try:
            self._on_open(conn)
            async for message in ws:
                text = message if isinstance(message, str) else message.decode("utf-8", "replace")
                conn.received.append(text)
                if self._over_inbound_rate(conn):
                    await self.cut(conn, f"more than {self.max_inbound_per_s} messages/s")
                    break
                if not conn.stalled:
                    self._on_message(conn, text)
        except ConnectionClosed:
            pass
        finally:
            self.connections.remove(conn)
            writer.cancel()
            self._tasks.discard(writer)

    def _over_inbound_rate(self, conn: WireConnection) -> bool:
        if self.max_inbound_per_s is None:
            return False
        now = time.monotonic()
        conn.received_at.append(now)
        while now - conn.received_at[0] > 1.0:
            conn.received_at.popleft()
        return len(conn.received_at) > self.max_inbound_per_s

    async def cut(self, conn: WireConnection, why: str) -> None:
        """Close a connection that broke a venue limit (code 1008) and record the violation."""
        self.limit_violations.append(why)
        await conn.ws.close(1008, why[:120])

    def _later(self, delay: float, action: Any) -> None:
        """Run the coroutine function ``action`` after ``delay`` seconds (tracked for stop())."""

        async def run() -> None:
            await asyncio.sleep(delay)
            await action()

        task = asyncio.create_task(run())
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    # ---- HTTP ------------------------------------------------------------------------------
    async def _process_request(
        self, connection: ServerConnection, request: Request
    ) -> Response | None:
        if request.headers.get("Upgrade", "").lower() == "websocket":
            return None
        self.rest_started += 1
        self._rest_in_flight += 1
        self.rest_peak_in_flight = max(self.rest_peak_in_flight, self._rest_in_flight)
        try:
            return await self._answer_rest(connection, request)
        finally:
            self._rest_in_flight -= 1

    async def _answer_rest(self, connection: ServerConnection, request: Request) -> Response:
        # a little service time, as on a real venue, so concurrent calls overlap
        await asyncio.sleep(self.rest_latency_s)
        delay = self._rest_delays.popleft() if self._rest_delays else 0.0
        path, _, raw_query = request.path.partition("?")
        query = {k: v[-1] for k, v in parse_qs(raw_query).items()}
        now = time.monotonic()
        if now < self._blocked_until:
            self.rest_violations += 1
        if self._rate_limits:
            status, retry_after = self._rate_limits.popleft()
            self._blocked_until = now + retry_after
            body: Any = {"code": -1003, "msg": "Too many requests; rate limit (fake)."}
            headers = {"Retry-After": f"{retry_after:g}"}
            weight = 0
        else:
            status, body, weight = self._rest(path, query)
            headers = self._rest_headers(weight)
        self.rest_log.append(RestHit(now, path, query, status, weight))
        response = connection.respond(status, compact_json(body))
        response.headers = Headers(
            [(k, v) for k, v in response.headers.raw_items() if k != "Content-Type"]
        )
        response.headers["Content-Type"] = "application/json"
        for key, value in headers.items():
            response.headers[key] = value
        # the answer is taken now and arrives late: the book moves on meanwhile
        await asyncio.sleep(delay)
        return response

    def _rest_headers(self, weight: int) -> dict[str, str]:
        return {}

    # ---- wire format hooks (venue subclasses) ----------------------------------------------
    def _init_ids(self) -> None:
        raise NotImplementedError

    def _on_open(self, conn: WireConnection) -> None:
        """A client connected (Binance reads its streams from the URL)."""

    def _on_message(self, conn: WireConnection, text: str) -> None:
        raise NotImplementedError

    def _book_topic(self, symbol: str) -> str:
        return f"book|{symbol}"

    def _trade_topic(self, symbol: str) -> str:
        return f"trade|{symbol}"

    def _wrap(self, wire_name: str, message: str) -> str:
        return message

    def _book_message(self, symbol: str, change: BookChange) -> str:
        raise NotImplementedError

    def _trade_message(self, symbol: str, trade: TradePrint) -> str:
        raise NotImplementedError

    def _malformed_frame(self, index: int) -> str:
        raise NotImplementedError

    def _rest(self, path: str, query: dict[str, str]) -> tuple[int, Any, int]:
        return HTTPStatus.NOT_FOUND, {"code": -1, "msg": f"unknown path {path}"}, 0
