"""A small HTTP/1.1 keep-alive client: one asyncio ``Protocol`` per connection, a pool per
origin, replies parsed by ``httptools`` (llhttp).

Made for the live adapter's signed REST calls (:mod:`~mmcore.execution.live.lean_fetch`), where
aiohttp's per-request machinery (trace hooks, timers, stream readers, multidicts) cost more than
the loopback round trip itself. What it does and no more:

* one request at a time per connection (no pipelining); several in flight at once use several
  connections, up to ``max_conns`` per origin (then a request waits for one to come back);
* an idle connection is reused (most recently used first) unless the server closed it (EOF
  seen), said ``Connection: close``, or it has been idle longer than ``idle_s``;
* replies framed by Content-Length, chunked, or read to EOF when neither is given;
* ``https`` origins over TLS with the caller's ``ssl.SSLContext``;
* ``timeout_s`` bounds the whole request (waiting for a connection, connecting, sending, the
  reply); a request that times out or fails drops its connection.

Failures are :class:`HttpError` subclasses saying how far the request got (never connected,
cut before or during the reply, timed out, malformed reply); the caller maps them to its own
exceptions. No redirects, no proxies, no compression (the caller decodes a compressed body).
"""

from __future__ import annotations

import asyncio
import ssl
import time
from collections import deque
from dataclasses import dataclass
from typing import cast
from urllib.parse import urlsplit

import httptools

__all__ = [
    "HttpConnectError",
    "HttpDisconnected",
    "HttpError",
    "HttpPool",
    "HttpProtocolError",
    "HttpReply",
    "HttpTimeout",
]

_NO_BODY_STATUS = frozenset({204, 304})


class HttpError(Exception):
    """A request that did not get a whole reply."""


class HttpConnectError(HttpError):
    """The connection could not be opened: the request was never sent."""


class HttpDisconnected(HttpError):
    """The connection was closed or reset before the whole reply arrived: the request may or
    may not have been processed. ``reply_started``: some bytes of the reply had arrived;
    ``head_received``: its whole head had (the body was cut)."""

    def __init__(self, message: str, *, reply_started: bool, head_received: bool) -> None:
        super().__init__(message)
        self.reply_started = reply_started
        self.head_received = head_received


class HttpTimeout(HttpError, TimeoutError):
    """No whole reply within the request's time bound."""


class HttpProtocolError(HttpError):
    """The reply was not valid HTTP/1.1."""


@dataclass(frozen=True, slots=True)
class HttpReply:
    """A whole reply: status, reason phrase, headers in arrival order (names as sent), body."""

    status: int
    reason: str
    headers: list[tuple[str, str]]
    body: bytes


class _Conn(asyncio.Protocol):
    """One HTTP/1.1 connection carrying one request at a time."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self.transport: asyncio.Transport | None = None
        self.closed = False  # EOF or error seen, or told to close: never reused
        self.idle_since = 0.0
        self.reused = False
        self._parser = httptools.HttpResponseParser(self)
        self._waiter: asyncio.Future[HttpReply] | None = None
        self._reset_reply()

    # -- the request ------------------------------------------------------------------------
    def send(self, data: bytes) -> asyncio.Future[HttpReply]:
        """Write a whole request; the future gets its reply."""
        assert self.transport is not None and self._waiter is None
        self._reset_reply()
        self._waiter = self.loop.create_future()
        self.transport.write(data)
        return self._waiter

    def abort(self) -> None:
        """Drop the connection now (timeouts, pool close)."""
        self.closed = True
        if self.transport is not None:
            self.transport.abort()

    def _reset_reply(self) -> None:
        self._status = 0
        self._reason = ""
        self._headers: list[tuple[str, str]] = []
        self._body: list[bytes] = []
        self._started = False
        self._headers_done = False
        self._to_eof = False  # neither Content-Length nor chunked: the body ends at EOF
        self._keep_alive = True

    def _finish(self, error: BaseException | None) -> None:
        waiter, self._waiter = self._waiter, None
        if waiter is None or waiter.done():
            return
        if error is not None:
            waiter.set_exception(error)
            return
        reply = HttpReply(self._status, self._reason, self._headers, b"".join(self._body))
        self._reset_reply()  # the reply owns its header list now
        waiter.set_result(reply)

    # -- asyncio.Protocol -------------------------------------------------------------------
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's transports are not asyncio.Transport subclasses: no isinstance check
        self.transport = cast(asyncio.Transport, transport)

    def data_received(self, data: bytes) -> None:
        if self._waiter is None:  # bytes nobody asked for: the connection is out of step
            self.abort()
            return
        self._started = True
        try:
            self._parser.feed_data(data)
        except httptools.HttpParserError as exc:
            self.abort()
            self._finish(HttpProtocolError(f"malformed HTTP reply: {exc}"))

    def eof_received(self) -> bool:
        self.closed = True
        if self._waiter is not None and self._headers_done and self._to_eof:
            self._finish(None)  # a reply framed by the end of the connection is whole now
        return False  # let the transport close

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        if self._waiter is not None:
            what = "reset" if exc is not None else "closed"
            where = "mid-reply" if self._started else "before the reply"
            self._finish(
                HttpDisconnected(
                    f"connection {what} {where}",
                    reply_started=self._started,
                    head_received=self._headers_done,
                )
            )

    # -- httptools callbacks ----------------------------------------------------------------
    def on_message_begin(self) -> None:
        if self._waiter is None:  # a reply nobody asked for, in the same read as ours
            self.closed = True

    def on_status(self, status: bytes) -> None:
        self._reason += status.decode("latin-1")

    def on_header(self, name: bytes, value: bytes) -> None:
        self._headers.append((name.decode("latin-1"), value.decode("latin-1")))

    def on_headers_complete(self) -> None:
        self._status = self._parser.get_status_code()
        self._keep_alive = self._parser.should_keep_alive()
        self._headers_done = True
        framed = any(n.lower() in ("content-length", "transfer-encoding") for n, _ in self._headers)
        self._to_eof = not framed and self._status not in _NO_BODY_STATUS and self._status >= 200

    def on_body(self, body: bytes) -> None:
        self._body.append(body)

    def on_message_complete(self) -> None:
        if self._status < 200:  # an interim reply (103 Early Hints): the real one follows
            self._reset_reply()
            self._started = True
            return
        if not self._keep_alive or self._to_eof:
            self.closed = True
            if self.transport is not None:
                self.transport.close()
        self._finish(None)


class _Origin:
    """The connections to one ``scheme://host:port``."""

    def __init__(self, host: str, port: int, tls: bool) -> None:
        self.host, self.port, self.tls = host, port, tls
        self.ssl_context: ssl.SSLContext | None = None  # the latest request's, for new ones
        self.idle: deque[_Conn] = deque()
        self.count = 0  # open connections, idle or busy
        self.waiters: deque[asyncio.Future[None]] = deque()


class HttpPool:
    """Keep-alive HTTP/1.1 connections per origin (see the module docstring).

    ``max_conns``: connections per origin at most; ``idle_s``: an idle connection older than
    this is closed instead of reused (servers close theirs after a while, and a request written
    on a connection the server is closing at that moment is lost)."""

    def __init__(self, *, max_conns: int = 8, idle_s: float = 30.0) -> None:
        if max_conns < 1:
            raise ValueError(f"max_conns must be >= 1, got {max_conns}")
        if not idle_s > 0:
            raise ValueError(f"idle_s must be > 0, got {idle_s}")
        self.max_conns = max_conns
        self.idle_s = idle_s
        self.connects = 0  # connections opened (a test's and a bench's view of reuse)
        self._origins: dict[tuple[str, str, int], _Origin] = {}
        self._closed = False

    async def request(
        self,
        method: str,
        url: str,
        headers: dict[str, str],
        body: bytes | None,
        *,
        timeout_s: float,
        ssl_context: ssl.SSLContext | None = None,
    ) -> HttpReply:
        """Send one request and return the whole reply. ``headers`` are sent as given plus
        ``Host`` and ``Content-Length`` (when there is a body or the method usually has one);
        ``ssl_context`` verifies an ``https`` origin (None: the system's defaults).

        Raises :class:`HttpTimeout` after ``timeout_s``, :class:`HttpConnectError`,
        :class:`HttpDisconnected` or :class:`HttpProtocolError`. An idempotent request cut
        before any reply byte on a reused connection (the server closed it as it was sent) is
        sent once more on a new connection, as HTTP/1.1 allows."""
        if self._closed:
            raise HttpConnectError("the HTTP pool is closed")
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout_s
        parts = urlsplit(url)
        scheme = parts.scheme.lower()
        if scheme not in ("http", "https") or not parts.hostname:
            raise HttpConnectError(f"not an http(s) URL: {scheme}://{parts.hostname or ''}")
        tls = scheme == "https"
        port = parts.port or (443 if tls else 80)
        key = (scheme, parts.hostname, port)
        origin = self._origins.get(key)
        if origin is None:
            origin = self._origins[key] = _Origin(parts.hostname, port, tls)
        origin.ssl_context = ssl_context
        target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        data = _encode(method, target, parts.netloc, headers, body)
        retry = method.upper() in ("GET", "HEAD", "OPTIONS", "PUT", "DELETE")
        while True:
            conn = await self._acquire(origin, loop, deadline)
            try:
                reply = await self._exchange(conn, data, loop, deadline)
            except HttpDisconnected as exc:
                self._release(origin, conn)
                if retry and conn.reused and not exc.reply_started:
                    retry = False
                    continue
                raise
            except BaseException:
                conn.abort()  # timed out, cancelled or malformed: never reused
                self._release(origin, conn)
                raise
            self._release(origin, conn)
            return reply

    async def close(self) -> None:
        """Close every connection; later requests fail with :class:`HttpConnectError`."""
        self._closed = True
        for origin in self._origins.values():
            while origin.idle:
                origin.idle.pop().abort()
            for waiter in origin.waiters:
                if not waiter.done():
                    waiter.set_result(None)
        self._origins.clear()

    # -- internals --------------------------------------------------------------------------
    async def _exchange(
        self, conn: _Conn, data: bytes, loop: asyncio.AbstractEventLoop, deadline: float
    ) -> HttpReply:
        future = conn.send(data)
        # one timer per request, no task: the future fails when the time is up
        timer = loop.call_at(deadline, _expire, future)
        try:
            return await future
        finally:
            timer.cancel()

    async def _acquire(
        self, origin: _Origin, loop: asyncio.AbstractEventLoop, deadline: float
    ) -> _Conn:
        while True:
            now = time.monotonic()
            while origin.idle:
                conn = origin.idle.pop()  # the most recently used: its socket is warm
                if conn.closed or now - conn.idle_since > self.idle_s:
                    conn.abort()
                    origin.count -= 1
                    continue
                conn.reused = True
                return conn
            if origin.count < self.max_conns:
                break
            waiter = loop.create_future()
            origin.waiters.append(waiter)
            timer = loop.call_at(deadline, _expire, waiter)
            try:
                await waiter
            except BaseException:
                if waiter.done() and not waiter.cancelled() and waiter.exception() is None:
                    self._wake(origin)  # woken but leaving: the turn goes to the next one
                raise
            finally:
                timer.cancel()
                if waiter in origin.waiters:
                    origin.waiters.remove(waiter)
            if self._closed:
                raise HttpConnectError("the HTTP pool is closed")
        origin.count += 1
        try:
            return await self._connect(origin, loop, deadline)
        except BaseException:
            origin.count -= 1
            self._wake(origin)
            raise

    async def _connect(
        self, origin: _Origin, loop: asyncio.AbstractEventLoop, deadline: float
    ) -> _Conn:
        tls: ssl.SSLContext | None = None
        if origin.tls:
            tls = origin.ssl_context or ssl.create_default_context()
        try:
            async with asyncio.timeout_at(deadline):
                _, conn = await loop.create_connection(
                    lambda: _Conn(loop),
                    origin.host,
                    origin.port,
                    ssl=tls,
                    server_hostname=origin.host if tls else None,
                )
        except TimeoutError as exc:
            raise HttpTimeout(f"connect to {origin.host}:{origin.port} timed out") from exc
        except OSError as exc:  # refused, unreachable, name not resolved, TLS refused
            raise HttpConnectError(
                f"connect to {origin.host}:{origin.port} failed: {type(exc).__name__}: {exc}"
            ) from exc
        self.connects += 1
        return conn

    def _release(self, origin: _Origin, conn: _Conn) -> None:
        if conn.closed or self._closed:
            conn.abort()
            origin.count -= 1
        else:
            conn.idle_since = time.monotonic()
            origin.idle.append(conn)
        self._wake(origin)

    @staticmethod
    def _wake(origin: _Origin) -> None:
        while origin.waiters:
            waiter = origin.waiters.popleft()
            if not waiter.done():
                waiter.set_result(None)
                return


def _expire(future: asyncio.Future) -> None:
    if not future.done():
        future.set_exception(HttpTimeout("no reply in time"))


def _encode(
    method: str, target: str, host: str, headers: dict[str, str], body: bytes | None
) -> bytes:
    lines = [f"{method.upper()} {target} HTTP/1.1", f"Host: {host}"]
    for name, value in headers.items():
        value = str(value)
        if "\r" in value or "\n" in value or "\r" in name or "\n" in name:
            # a line break would end the header and let the rest pass as another one
            raise ValueError(f"line break in the value of request header {name!r}")
        if name.lower() != "host":
            lines.append(f"{name}: {value}")
    if any(c in target for c in " \r\n"):
        raise ValueError("whitespace or a line break in the request target")
    if body is not None or method.upper() in ("POST", "PUT", "PATCH"):
        lines.append(f"Content-Length: {len(body or b'')}")
    head = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")
    return head + body if body else head
