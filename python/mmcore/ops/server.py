"""The ops HTTP server: metrics, health, readiness, status and the operator's controls.

A small HTTP/1.1 server (one request per connection) running on the trader's own event loop,
so every handler reads the trader's state between two loop steps, never concurrently with
the quote path, and a control action takes effect at once. Endpoints:

- ``GET /metrics``: Prometheus text format (the run's collector plus process metrics);
- ``GET /health``: 200 while the process serves requests;
- ``GET /ready``: 200 when every traded book is synced and every symbol's risk is ACTIVE,
  else 503 with the reasons;
- ``GET /status``: JSON (books, quotes, positions, risk, advice, portfolio);
- ``POST /halt``, ``/resume``, ``/flatten``: need ``Authorization: Bearer <token>``; a missing
  or wrong token is answered 401 and changes nothing (the comparison takes constant time,
  the token is never logged); without a configured token, control is refused (403).

Requests are bounded (8 KiB of headers, 4 KiB of body, 5 s to arrive); anything else is
answered 400, 404, 405 or 413 with a one-line reason.
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import orjson
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest

__all__ = ["Handler", "OpsServer", "Response"]

log = logging.getLogger("mmcore.ops")

_MAX_HEADER_BYTES = 8192
_MAX_BODY_BYTES = 4096
_READ_TIMEOUT_S = 5.0
_REASONS = {
    200: "OK",
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    405: "Method Not Allowed",
    413: "Payload Too Large",
    500: "Internal Server Error",
    503: "Service Unavailable",
}


@dataclass(frozen=True, slots=True)
class Response:
    """A status, a body and its content type."""

    status: int
    body: bytes
    content_type: str = "application/json"

    @classmethod
    def json(cls, status: int, data: Any) -> Response:
        """``data`` as JSON (NaN becomes null; unknown types their ``str``)."""
        return cls(status, orjson.dumps(data, default=str, option=orjson.OPT_NON_STR_KEYS))


#: A control action: returns the JSON-able result of the action.
Handler = Callable[[], Any]


class OpsServer:
    """Serves the endpoints above on ``bind:port`` (port 0: the OS chooses; see :attr:`port`).

    ``status`` and ``ready`` build their answers; ``controls`` maps ``halt``/``resume``/
    ``flatten`` to actions; ``token`` is the bearer token (None: control refused)."""

    def __init__(
        self,
        *,
        registry: CollectorRegistry,
        status: Callable[[], Any],
        not_ready: Callable[[], list[str]],
        controls: dict[str, Handler],
        token: str | None,
        bind: str = "127.0.0.1",
        port: int = 0,
    ) -> None:
        self.registry = registry
        self.status = status
        self.not_ready = not_ready
        self.controls = controls
        self._token = token.encode() if token else None
        self.bind = bind
        self.port = port
        self.requests = 0
        self.unauthorized = 0
        self._server: asyncio.Server | None = None
        self._clients: set[asyncio.Task[None]] = set()

    def __repr__(self) -> str:  # never the token
        return f"OpsServer(bind={self.bind!r}, port={self.port}, control={self._token is not None})"

    async def start(self) -> OpsServer:
        """Listen; :attr:`port` is then the real port."""
        self._server = await asyncio.start_server(self._client, self.bind, self.port)
        self.port = self._server.sockets[0].getsockname()[1]
        log.info(
            "ops_listening bind=%s port=%d control=%s",
            self.bind,
            self.port,
            "enabled" if self._token else "disabled",
        )
        return self

    async def stop(self) -> None:
        """Stop listening and drop the connections in progress."""
        if self._server is not None:
            self._server.close()
            for task in list(self._clients):
                task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await asyncio.gather(*self._clients, return_exceptions=True)
            await self._server.wait_closed()
            self._server = None

    async def _client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._clients.add(task)
        try:
            try:
                method, path, headers = await asyncio.wait_for(self._read(reader), _READ_TIMEOUT_S)
            except _BadRequest as exc:
                response = Response.json(exc.status, {"error": exc.reason})
            except (TimeoutError, asyncio.IncompleteReadError, ConnectionError):
                return
            else:
                self.requests += 1
                response = self._route(method, path, headers)
            writer.write(_encode(response))
            with contextlib.suppress(ConnectionError):
                await writer.drain()
        finally:
            self._clients.discard(task)
            writer.close()
            with contextlib.suppress(ConnectionError, asyncio.CancelledError):
                await writer.wait_closed()

    async def _read(self, reader: asyncio.StreamReader) -> tuple[str, str, dict[str, str]]:
        try:
            head = await reader.readuntil(b"\r\n\r\n")
        except asyncio.LimitOverrunError:
            raise _BadRequest(413, "headers too large") from None
        if len(head) > _MAX_HEADER_BYTES:
            raise _BadRequest(413, "headers too large")
        lines = head.decode("latin-1").split("\r\n")
        parts = lines[0].split(" ")
        if len(parts) != 3 or not parts[2].startswith("HTTP/1."):
            raise _BadRequest(400, "malformed request line")
        headers = {}
        for line in lines[1:]:
            if line:
                name, sep, value = line.partition(":")
                if not sep:
                    raise _BadRequest(400, "malformed header line")
                headers[name.strip().lower()] = value.strip()
        try:
            length = int(headers.get("content-length", "0"))
        except ValueError:
            raise _BadRequest(400, "content-length is not a number") from None
        if length < 0 or length > _MAX_BODY_BYTES:
            raise _BadRequest(413, f"body must be 0..{_MAX_BODY_BYTES} bytes")
        if length:
            await reader.readexactly(length)  # no endpoint takes a body: read and ignore
        return parts[0], parts[1].split("?", 1)[0], headers

    def _route(self, method: str, path: str, headers: dict[str, str]) -> Response:
        gets: dict[str, Callable[[], Response]] = {
            "/metrics": self._metrics,
            "/health": lambda: Response.json(200, {"status": "ok"}),
            "/ready": self._ready,
            "/status": lambda: Response.json(200, self.status()),
        }
        name = path.lstrip("/")
        if path in gets:
            if method != "GET":
                return Response.json(405, {"error": f"{path} takes GET"})
            return self._safely(gets[path])
        if name in self.controls:
            if method != "POST":
                return Response.json(405, {"error": f"{path} takes POST"})
            refused = self._refuse(headers)
            if refused is not None:
                return refused
            action = self.controls[name]
            return self._safely(lambda: Response.json(200, {"action": name, "result": action()}))
        return Response.json(404, {"error": f"no endpoint {path}"})

    def _refuse(self, headers: dict[str, str]) -> Response | None:
        """None when the bearer token matches; the refusal otherwise (never echoing it)."""
        if self._token is None:
            return Response.json(403, {"error": "control is disabled: no token configured"})
        scheme, _, given = headers.get("authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not hmac.compare_digest(given.encode(), self._token):
            self.unauthorized += 1
            log.warning("ops_unauthorized reason=%s", "missing" if not given else "mismatch")
            return Response.json(401, {"error": "missing or wrong bearer token"})
        return None

    def _safely(self, build: Callable[[], Response]) -> Response:
        try:
            return build()
        except Exception as exc:  # a failing handler answers 500; the trader goes on
            log.exception("ops_handler_failed")
            return Response.json(500, {"error": f"{type(exc).__name__}: {exc}"})

    def _metrics(self) -> Response:
        return Response(200, generate_latest(self.registry), CONTENT_TYPE_LATEST)

    def _ready(self) -> Response:
        why = self.not_ready()
        return Response.json(503 if why else 200, {"ready": not why, "not_ready": why})


class _BadRequest(Exception):
    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


def _encode(r: Response) -> bytes:
    head = (
        f"HTTP/1.1 {r.status} {_REASONS.get(r.status, '')}\r\n"
        f"Content-Type: {r.content_type}\r\nContent-Length: {len(r.body)}\r\n"
        "Connection: close\r\n\r\n"
    )
    return head.encode("latin-1") + r.body
