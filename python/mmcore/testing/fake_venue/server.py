"""The venue-neutral part of a fake venue: loopback REST and websocket servers, the clock, the
request log, and fault injection. Venue families subclass :class:`FakeVenue` and supply the
routes, the signature rules and the stream formats.

REST is served with the project's loopback HTTP plumbing (:mod:`mmcore.testing.http_loopback`,
any method with a body); websockets with the ``websockets`` server, on a second port. Both run
on the caller's event loop, so the control API (fills, quotes, faults) is plain method calls.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import json
import random
import time
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from decimal import Decimal
from typing import Any
from urllib.parse import parse_qsl

from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.exceptions import ConnectionClosed

from mmcore.testing.fake_venue.ledger import Ledger, LedgerEvent, MarketSpec, Order
from mmcore.testing.http_loopback import Step, read_request, write_step

__all__ = [
    "SERVICE_HEADER",
    "FakeVenue",
    "LoggedRequest",
    "Reply",
    "RestCall",
    "StreamConn",
    "hmac_sha256_hex",
    "num",
]

#: The reply header with the fake's own time on a request, in whole microseconds: from its
#: head read to its reply ready to write (as venues report their own timings, e.g.
#: ``x-response-time``), so a benchmark subtracts the venue's share per request.
SERVICE_HEADER = "X-Fake-Service-Us"

# Parameters never written to the request log: credentials and signatures.
SECRET_PARAMS = frozenset({"signature", "apiKey", "api_key", "sign"})


def hmac_sha256_hex(secret: str, payload: str) -> str:
    """HMAC-SHA256 of ``payload`` keyed with ``secret``, lower-case hex (Binance and Bybit)."""
    return hmac.new(secret.encode(), payload.encode(), hashlib.sha256).hexdigest()


def num(value: Decimal) -> str:
    """A decimal as the venues print it: plain notation, no exponent."""
    return format(value.normalize(), "f") if value else "0"


@dataclass(frozen=True, slots=True)
class Reply:
    """A REST answer: status, body (JSON-able, or ``str`` for a plain page), extra headers;
    ``code`` is the venue error code."""

    status: int
    body: Any
    headers: tuple[tuple[str, str], ...] = ()
    code: int | None = None


@dataclass(slots=True)
class LoggedRequest:
    """One request the fake received (REST or a websocket request), credentials removed.

    ``at_ms`` is the venue's clock when it arrived; ``status`` is the HTTP status sent (0 while
    in flight, -1 when the fake never answered); ``code`` the venue's error code, if any.
    """

    at_ms: int
    method: str
    path: str
    params: dict[str, str]
    status: int = 0
    code: int | None = None
    #: seconds the fake spent on it (head read → reply ready, incl. scripted delays), for
    #: benchmarks that subtract the venue's own time from a round trip (also sent back in
    #: the ``SERVICE_HEADER`` of the reply)
    service_s: float = 0.0


@dataclass(frozen=True, slots=True)
class RestCall:
    """What a route handler sees: method, path, raw query and body, headers, merged params."""

    method: str
    path: str
    query: str
    body: str
    headers: Mapping[str, str]
    params: dict[str, Any]


@dataclass(eq=False)
class StreamConn:
    """One client websocket: what it is subscribed to and its ordered outbox."""

    ws: ServerConnection
    path: str
    topics: set[str] = field(default_factory=set)
    authed: bool = False
    outbox: asyncio.Queue[str | None] = field(default_factory=asyncio.Queue)
    closing: bool = False

    def send(self, text: str) -> None:
        """Queue a frame (dropped once the connection is being cut)."""
        if not self.closing:
            self.outbox.put_nowait(text)

    def cut_after_queued(self) -> None:
        """Abort the socket (no close frame) once everything queued so far is written."""
        self.outbox.put_nowait(None)
        self.closing = True

    async def write_loop(self) -> None:
        with contextlib.suppress(ConnectionClosed):
            while True:
                text = await self.outbox.get()
                if text is None:
                    self.ws.transport.abort()
                    return
                await self.ws.send(text)


class FakeVenue:
    """Base of the venue fakes; use as ``async with FakeBinanceSpot() as venue: ...``.

    Control API shared by every venue: :meth:`fill`, :meth:`set_quote`, :meth:`seed_balance`,
    :meth:`seed_position`, :meth:`seed_open_order`; clock: :attr:`clock_offset_ms`; faults:
    :meth:`throttle`, :meth:`hang_after_accept`, :meth:`cut_reply_after_accept`,
    :meth:`delay_replies`, :attr:`latency_s`, :attr:`stream_lag_s`, :meth:`drop_stream_after`,
    :meth:`duplicate_fill_events`, :meth:`reject_post_only`, :meth:`inject_random_fault` (for
    soak tests);
    logs: :attr:`requests` (REST and websocket requests), :attr:`pushed` (stream frames).
    """

    #: the market kind of this venue family (``spot`` or ``linear``) when it serves one kind
    kind = "spot"
    #: which ccxt client :func:`~mmcore.testing.fake_venue.client.ccxt_exchange` builds for it
    ccxt_preset = ""
    #: the order-entry request (method, path), the target of the unanswered-order fault
    order_entry: tuple[str, str] = ("POST", "/")
    #: what :meth:`inject_fault` can arm (a 418 ban is left out: it is meant to halt a run)
    FAULTS = (
        "throttle",
        "unanswered_order",
        "slow_reply",
        "stream_cut",
        "duplicate_fill",
        "post_only_reject",
        "clock_jump",
    )

    def __init__(
        self,
        markets: list[MarketSpec],
        *,
        api_key: str = "fake-api-key",
        secret: str = "fake-api-secret",
        maker_fee: Decimal = Decimal("0.001"),
        taker_fee: Decimal = Decimal("0.001"),
    ) -> None:
        if not markets:
            raise ValueError("a fake venue needs at least one market")
        self.api_key = api_key
        self._secret = secret
        self.ledger = Ledger(
            {m.symbol: m for m in markets}, self.now_ms, maker_fee=maker_fee, taker_fee=taker_fee
        )
        self.ledger.listeners.append(self._on_ledger_event)
        self.requests: list[LoggedRequest] = []
        self.clock_offset_ms = 0
        self.latency_s = 0.0
        #: private-stream frames go out this late (a venue's user stream can trail its REST
        #: replies); a stream cut still happens at once
        self.stream_lag_s = 0.0
        self.streams: list[StreamConn] = []
        #: every private-stream frame sent, one entry per connection it went to
        self.pushed: list[str] = []
        self._throttles: deque[tuple[int, float]] = deque()
        self.banned_until_ms = 0
        self._delays: deque[float] = deque()
        self._hangs: list[list[Any]] = []  # [method, path, remaining]
        self._cuts: list[list[Any]] = []  # [method, path, remaining]
        self._drop_after: int | None = None
        self._duplicate_fills = 0
        self._forced_post_only_rejects = 0
        self._http: asyncio.Server | None = None
        self._ws: Server | None = None
        self._tasks: set[asyncio.Task[Any]] = set()

    def __repr__(self) -> str:  # never the keys
        return f"{type(self).__name__}(markets={sorted(self.ledger.markets)})"

    # ---- lifecycle -------------------------------------------------------------------------
    async def start(self) -> FakeVenue:
        """Listen on two loopback ports the OS picks: REST and websocket."""
        self._http = await asyncio.start_server(self._serve_http, "127.0.0.1", 0)
        self._ws = await serve(self._serve_ws, "127.0.0.1", 0, compression=None)
        return self

    async def stop(self) -> None:
        """Close both listeners, every connection and every pending timer."""
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        if self._ws is not None:
            self._ws.close()
            await self._ws.wait_closed()
        if self._http is not None:
            self._http.close()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._http.wait_closed(), 1)

    async def __aenter__(self) -> FakeVenue:
        return await self.start()

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    @property
    def rest_url(self) -> str:
        """``http://127.0.0.1:<port>``: REST paths are the venue's own (``/api/v3/...``)."""
        assert self._http is not None, "start() the fake first"
        return f"http://127.0.0.1:{self._http.sockets[0].getsockname()[1]}"

    @property
    def ws_url(self) -> str:
        """``ws://127.0.0.1:<port>``: websocket paths are the venue's own."""
        assert self._ws is not None, "start() the fake first"
        return f"ws://127.0.0.1:{self._ws.sockets[0].getsockname()[1]}"

    def now_ms(self) -> int:
        """The venue's clock: real time plus :attr:`clock_offset_ms`."""
        return time.time_ns() // 1_000_000 + self.clock_offset_ms

    # ---- control: account ------------------------------------------------------------------
    def set_quote(self, symbol: str, bid: Decimal | str, ask: Decimal | str) -> None:
        """Best bid/ask of ``symbol``, used only to refuse post-only orders that would cross."""
        self.ledger.set_quote(symbol, _dec("bid", bid), _dec("ask", ask))

    def seed_balance(self, asset: str, free: Decimal | str) -> None:
        """Set the free balance of ``asset``."""
        amount = _dec("free", free)
        if amount < 0:
            raise ValueError(f"free balance of {asset} must not be negative, got {amount}")
        self.ledger.balance(asset).free = amount

    def pay_fees_in(self, asset: str, price: Decimal | str) -> None:
        """Charge spot fees in ``asset`` (worth ``price`` of the quote currency each), as
        Binance does with its BNB fee discount."""
        value = _dec("price", price)
        if value <= 0:
            raise ValueError(f"price must be above zero, got {value}")
        self.ledger.fee_payment = (asset, value)

    def seed_position(self, symbol: str, qty: Decimal | str, entry: Decimal | str) -> None:
        """Give the account a position (signed ``qty``) it had before the engine started."""
        if self.ledger.market(symbol).kind != "linear":
            raise ValueError(f"{symbol} is not a linear market: positions are linear only")
        size, price = _dec("qty", qty), _dec("entry", entry)
        if size and price <= 0:
            raise ValueError(f"entry must be above zero for an open position, got {price}")
        pos = self.ledger.position(symbol)
        pos.qty, pos.entry = size, price

    def seed_open_order(
        self,
        symbol: str,
        side: str,
        qty: Decimal | str,
        price: Decimal | str,
        client_id: str | None = None,
    ) -> Order:
        """Rest an order the engine did not place (``side`` ``buy``/``sell``)."""
        if side not in ("buy", "sell"):
            raise ValueError(f"side must be 'buy' or 'sell', got {side!r}")
        cid = client_id or f"seed{len(self.ledger.orders) + 1}"
        return self.ledger.seed_order(symbol, side, _dec("qty", qty), _dec("price", price), cid)

    def order(self, client_id: str) -> Order:
        """The newest order with ``client_id`` (KeyError-like Reject when there is none)."""
        return self.ledger.find(client_id=client_id)

    def fill(
        self,
        client_id: str,
        qty: Decimal | str,
        price: Decimal | str | None = None,
        *,
        maker: bool = True,
    ) -> None:
        """Execute ``qty`` of the open order ``client_id`` at ``price`` (default: its price)."""
        order = self.ledger.find(client_id=client_id)
        fill_price = order.price if price is None else _dec("price", price)
        self.ledger.fill(order, _dec("qty", qty), fill_price, maker=maker)

    # ---- control: faults -------------------------------------------------------------------
    def throttle(self, n_429: int = 1, n_418: int = 0, retry_after_s: float = 1.0) -> None:
        """The next ``n_429`` requests get 429, then ``n_418`` get 418 (an IP ban that lasts
        ``retry_after_s``: every request until then gets 418 too), all with Retry-After."""
        self._throttles.extend([(429, retry_after_s)] * n_429 + [(418, retry_after_s)] * n_418)

    def hang_after_accept(self, path: str, method: str = "POST", count: int = 1) -> None:
        """The next ``count`` ``method path`` requests are carried out, but never answered."""
        self._hangs.append([method, path, count])

    def cut_reply_after_accept(self, path: str, method: str = "POST", count: int = 1) -> None:
        """The next ``count`` ``method path`` requests are carried out, and their replies cut
        mid-body: the head and half the body are sent, then the connection is reset."""
        self._cuts.append([method, path, count])

    def delay_replies(self, seconds: float, count: int = 1) -> None:
        """Answer the next ``count`` requests ``seconds`` late (on top of :attr:`latency_s`)."""
        self._delays.extend([seconds] * count)

    def drop_stream_after(self, events: int) -> None:
        """Cut every private stream (TCP abort) after its next ``events`` events."""
        self._drop_after = events

    def duplicate_fill_events(self, count: int = 1) -> None:
        """The next ``count`` fills are pushed twice on the private streams."""
        self._duplicate_fills += count

    def reject_post_only(self, count: int = 1) -> None:
        """The next ``count`` post-only orders are refused as crossing, whatever the quote."""
        self._forced_post_only_rejects += count

    def inject_fault(self, name: str, rng: random.Random | None = None) -> None:
        """Arm one fault of :attr:`FAULTS` for the next matching request or event (a soak
        test's random fault); ``rng`` varies its size (delay, clock jump)."""
        rng = rng or random.Random(0)
        if name == "throttle":
            self.throttle(n_429=1, retry_after_s=1.0)
        elif name == "unanswered_order":
            self.hang_after_accept(self.order_entry[1], self.order_entry[0])
        elif name == "slow_reply":
            self.delay_replies(rng.uniform(0.05, 0.5))
        elif name == "stream_cut":
            self.drop_stream_after(rng.randint(1, 3))
        elif name == "duplicate_fill":
            self.duplicate_fill_events()
        elif name == "post_only_reject":
            self.reject_post_only()
        elif name == "clock_jump":
            self.clock_offset_ms = rng.choice((-3000, 3000))
        else:
            raise ValueError(f"unknown fault {name!r}, one of {self.FAULTS}")

    def inject_random_fault(self, rng: random.Random) -> str:
        """Arm a fault drawn from :attr:`FAULTS` with ``rng``; return its name."""
        name = rng.choice(self.FAULTS)
        self.inject_fault(name, rng)
        return name

    @property
    def banned(self) -> bool:
        """Whether the fake is answering 418 to everything right now."""
        return self.now_ms() < self.banned_until_ms

    # ---- hooks for the venue families ------------------------------------------------------
    def route(self, call: RestCall) -> Reply:
        """Answer one REST call (venue subclasses)."""
        raise NotImplementedError

    def throttle_reply(self, status: int, retry_after_s: float) -> Reply:
        """The venue's 429/418 answer."""
        raise NotImplementedError

    def bad_request_reply(self, message: str) -> Reply:
        """The venue's answer to a parameter it cannot parse."""
        raise NotImplementedError

    async def stream_session(self, conn: StreamConn) -> None:
        """Serve one websocket until it closes (venue subclasses)."""
        raise NotImplementedError

    def stream_messages(self, event: LedgerEvent) -> list[tuple[str, str, bool]]:
        """``(topic, frame, carries_fill)`` the private streams push for a ledger change."""
        raise NotImplementedError

    # ---- shared helpers for the venue families ---------------------------------------------
    def check_api_key(self, key: str | None) -> bool:
        """Whether ``key`` is this account's key (constant time)."""
        return key is not None and hmac.compare_digest(key.encode(), self.api_key.encode())

    def signature_ok(self, payload: str, signature: str | None) -> bool:
        """Whether ``signature`` is the HMAC-SHA256 hex of ``payload`` with the secret."""
        if signature is None:
            return False
        expected = hmac_sha256_hex(self._secret, payload)
        return hmac.compare_digest(expected.encode(), signature.lower().encode())

    def clock_error(self, timestamp: str | None, recv_window: str | None) -> bool:
        """True when ``timestamp`` (ms) is more than 1 s ahead of the venue's clock or older
        than ``recv_window`` ms (default 5000), the rule Binance and Bybit both apply."""
        try:
            ts = int(timestamp or "")
            window = int(recv_window or "5000")
        except ValueError:
            return True
        now = self.now_ms()
        return ts > now + 1000 or now - ts > window

    def take_post_only_reject(self) -> bool:
        """Consume one forced post-only reject, if any is armed."""
        if self._forced_post_only_rejects > 0:
            self._forced_post_only_rejects -= 1
            return True
        return False

    def log_ws_request(self, path: str, method: str, params: Mapping[str, Any]) -> LoggedRequest:
        """Record a request that came over a websocket (credentials removed)."""
        entry = LoggedRequest(self.now_ms(), method, path, _loggable(params))
        self.requests.append(entry)
        return entry

    def push(self, topic: str, frame: str, *, fill: bool = False) -> None:
        """Send ``frame`` to every authenticated stream subscribed to ``topic``, applying the
        duplicate-fill and drop-after-N faults."""
        copies = 1
        if fill and self._duplicate_fills > 0:
            self._duplicate_fills -= 1
            copies = 2
        for conn in list(self.streams):
            if topic not in conn.topics:  # topics are only granted once authenticated
                continue
            for _ in range(copies):
                if self.stream_lag_s > 0:
                    self.later(self.stream_lag_s, lambda conn=conn: conn.send(frame))
                else:
                    conn.send(frame)
                self.pushed.append(frame)
            if self._drop_after is not None:
                self._drop_after -= 1
        if self._drop_after is not None and self._drop_after <= 0:
            # armed until there is a stream to cut (an event before any client authenticated
            # used to disarm it, and a test's stream cut then never happened)
            authed = [conn for conn in self.streams if conn.authed]
            if authed:
                self._drop_after = None
                for conn in authed:
                    conn.cut_after_queued()

    def later(self, delay_s: float, action: Any) -> asyncio.TimerHandle:
        """Call ``action()`` after ``delay_s`` on the fake's loop (a dead-man timer)."""
        return asyncio.get_running_loop().call_later(delay_s, action)

    # ---- ledger → streams ------------------------------------------------------------------
    def _on_ledger_event(self, event: LedgerEvent) -> None:
        for topic, frame, carries_fill in self.stream_messages(event):
            self.push(topic, frame, fill=carries_fill)

    # ---- HTTP ------------------------------------------------------------------------------
    async def _serve_http(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        try:
            while True:
                try:
                    request = await read_request(reader)
                except (ValueError, asyncio.LimitOverrunError):
                    await write_step(Step(400, (), (b"malformed HTTP request",), "close"), writer)
                    break
                if request is None:
                    break
                entry, step = await self._answer(
                    request.method,
                    request.target,
                    request.headers,
                    request.body.decode("utf-8", "replace"),
                )
                # stamped before the write: the client may read the log as soon as it has
                # the reply, before this task runs again
                entry.service_s = time.perf_counter() - request.received
                if step.respond:
                    served = (SERVICE_HEADER, str(round(entry.service_s * 1e6)))
                    step = replace(step, headers=(*step.headers, served))
                if not await write_step(step, writer):
                    break
        except (ConnectionError, asyncio.IncompleteReadError, asyncio.CancelledError):
            pass
        finally:
            self._tasks.discard(task)
            writer.transport.abort()

    async def _answer(
        self, method: str, target: str, headers: Mapping[str, str], body: str
    ) -> tuple[LoggedRequest, Step]:
        path, _, query = target.partition("?")
        params: dict[str, Any] = dict(parse_qsl(query, keep_blank_values=True))
        if body:
            if headers.get("content-type", "").startswith("application/json"):
                try:
                    parsed = json.loads(body)
                except ValueError:
                    parsed = None
                if isinstance(parsed, dict):
                    params.update(parsed)
            else:
                params.update(parse_qsl(body, keep_blank_values=True))
        entry = LoggedRequest(self.now_ms(), method, path, _loggable(params))
        self.requests.append(entry)
        delay = self.latency_s + (self._delays.popleft() if self._delays else 0.0)
        if delay:
            await asyncio.sleep(delay)
        reply = self._gate()
        cut = False
        if reply is None:
            try:
                reply = self.route(RestCall(method, path, query, body, headers, params))
            except (ValueError, TypeError, ArithmeticError) as err:
                # a parameter the venue would refuse as malformed (e.g. fromId=abc)
                reply = self.bad_request_reply(f"malformed parameter: {err}")
            if _take(self._hangs, method, path):
                entry.status, entry.code = -1, reply.code
                return entry, Step(respond=False)
            cut = _take(self._cuts, method, path)
        entry.status, entry.code = reply.status, reply.code
        if isinstance(reply.body, str):  # a plain error page (a proxy's or a ban's)
            payload, kind = reply.body.encode(), "text/html"
        else:
            payload, kind = (
                json.dumps(reply.body, separators=(",", ":")).encode(),
                "application/json",
            )
        head = (("content-type", kind), *reply.headers)
        if cut:  # half the body, a pause so it is read, then a TCP reset
            half = (payload[: len(payload) // 2], 0.02)
            return entry, Step(reply.status, head, half, declared_length=len(payload), end="reset")
        return entry, Step(reply.status, head, (payload,))

    def _gate(self) -> Reply | None:
        """A 418 while banned, else the next scripted 429/418, else None (serve normally)."""
        now = self.now_ms()
        if now < self.banned_until_ms:
            return self.throttle_reply(418, (self.banned_until_ms - now) / 1000)
        if not self._throttles:
            return None
        status, retry_after = self._throttles.popleft()
        if status == 418:
            self.banned_until_ms = now + int(retry_after * 1000)
        return self.throttle_reply(status, retry_after)

    # ---- websocket -------------------------------------------------------------------------
    async def _serve_ws(self, ws: ServerConnection) -> None:
        conn = StreamConn(ws, ws.request.path if ws.request else "/")
        self.streams.append(conn)
        writer = asyncio.create_task(conn.write_loop())
        self._tasks.add(writer)
        try:
            await self.stream_session(conn)
        except ConnectionClosed:
            pass
        finally:
            self.streams.remove(conn)
            writer.cancel()
            self._tasks.discard(writer)


def _take(faults: list[list[Any]], method: str, path: str) -> bool:
    """Use up one of the scripted ``[method, path, remaining]`` faults matching the request."""
    for fault in faults:
        if fault[0] == method and fault[1] == path and fault[2] > 0:
            fault[2] -= 1
            return True
    return False


def _dec(name: str, value: Decimal | str) -> Decimal:
    """A finite decimal from a control-API argument, else ValueError naming the argument."""
    try:
        number = Decimal(value)
    except (ArithmeticError, TypeError, ValueError):
        raise ValueError(f"{name} must be a decimal number, got {value!r}") from None
    if not number.is_finite():
        raise ValueError(f"{name} must be finite, got {value!r}")
    return number


def _loggable(params: Mapping[str, Any]) -> dict[str, str]:
    return {k: str(v) for k, v in params.items() if k not in SECRET_PARAMS}
