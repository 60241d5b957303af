"""Loopback HTTP/1.1 plumbing shared by the test servers (the LLM relay, the fake venues).

Requests are read straight off asyncio streams (any method, a Content-Length body) and replies
are written from a :class:`Step`, which can also script misbehaviour: pauses between body
pieces, chunked or close-delimited framing, hangs, trickles and TCP resets.
"""

from __future__ import annotations

import asyncio
import socket
import struct
import time
from dataclasses import dataclass, field

__all__ = ["REASONS", "HttpRequest", "Step", "read_request", "write_step"]

REASONS = {
    200: "OK",
    400: "Bad Request",
    401: "Unauthorized",
    402: "Payment Required",
    403: "Forbidden",
    404: "Not Found",
    405: "Method Not Allowed",
    408: "Request Timeout",
    422: "Unprocessable",
    418: "I'm a teapot",
    429: "Too Many Requests",
    500: "Internal Server Error",
    502: "Bad Gateway",
    503: "Service Unavailable",
}


@dataclass(frozen=True, slots=True)
class Step:
    """One scripted reply.

    ``parts`` are body pieces written in order; a float among them is a pause in seconds (each
    piece is flushed, so pieces land in separate TCP writes; a single piece with
    Content-Length goes out with the head). ``framing`` is ``length``
    (Content-Length of all parts, or ``declared_length``), ``chunked`` or ``close`` (body ends
    when the connection closes). ``end``: ``done``, ``hang`` (keep the socket open, say
    nothing more) or ``reset`` (abort with a TCP RST). ``trickle_s`` writes one byte at that
    interval forever. ``respond=False`` reads the request and never answers.
    """

    status: int = 200
    headers: tuple[tuple[str, str], ...] = ()
    parts: tuple[bytes | float, ...] = ()
    framing: str = "length"
    declared_length: int | None = None
    end: str = "done"
    trickle_s: float | None = None
    respond: bool = True


@dataclass(frozen=True, slots=True)
class HttpRequest:
    """One request as read off the wire: method, target (path and query), lower-cased headers;
    ``received``: ``time.perf_counter()`` when its head had been read."""

    method: str
    target: str
    headers: dict[str, str]
    body: bytes
    received: float = field(default_factory=time.perf_counter)


async def read_request(reader: asyncio.StreamReader) -> HttpRequest | None:
    """Read one request; ``None`` when the client closed the connection between requests."""
    try:
        head = await reader.readuntil(b"\r\n\r\n")
    except asyncio.IncompleteReadError:
        return None
    received = time.perf_counter()
    lines = head.decode("latin-1").split("\r\n")
    method, target, _version = lines[0].split(" ", 2)
    headers = {}
    for line in lines[1:]:
        if ":" in line:
            name, value = line.split(":", 1)
            headers[name.strip().lower()] = value.strip()
    body = await reader.readexactly(int(headers.get("content-length", "0")))
    return HttpRequest(method, target, headers, body, received)


async def write_step(step: Step, writer: asyncio.StreamWriter) -> bool:
    """Write ``step`` as the reply; return False when the connection must close afterwards."""
    if not step.respond:
        await asyncio.Event().wait()  # until the client leaves or the server stops
    pieces = [p for p in step.parts if isinstance(p, bytes)]
    head = [f"HTTP/1.1 {step.status} {REASONS.get(step.status, 'Status')}"]
    head += [f"{k}: {v}" for k, v in step.headers]
    if step.framing == "chunked":
        head.append("transfer-encoding: chunked")
    elif step.framing == "length":
        length = step.declared_length
        head.append(f"content-length: {sum(map(len, pieces)) if length is None else length}")
    if step.framing == "close":
        head.append("connection: close")
    head_bytes = ("\r\n".join(head) + "\r\n\r\n").encode("latin-1")
    parts = step.parts
    if step.framing == "length" and len(parts) <= 1 and len(pieces) == len(parts):
        # a plain reply goes out in one write, as a server sends a small one (a head and a
        # body in separate segments wake the client twice); scripted pieces stay apart
        head_bytes += b"".join(pieces)
        parts = ()
    writer.write(head_bytes)
    await writer.drain()
    for part in parts:
        if isinstance(part, float):
            await asyncio.sleep(part)
            continue
        if step.framing == "chunked":
            part = b"%x\r\n%s\r\n" % (len(part), part)
        writer.write(part)
        await writer.drain()
    if step.trickle_s is not None:
        while True:
            await asyncio.sleep(step.trickle_s)
            writer.write(b" ")
            await writer.drain()
    if step.end == "hang":
        await asyncio.Event().wait()
    if step.end == "reset":
        sock = writer.get_extra_info("socket")
        if sock is not None:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        writer.transport.abort()
        return False
    if step.framing == "chunked":
        writer.write(b"0\r\n\r\n")
        await writer.drain()
    return step.framing != "close"
