"""The live adapter's REST transport (:mod:`mmcore.execution.live.lean_fetch` over
:mod:`mmcore.execution.live.http_pool`) against scripted loopback HTTP servers: keep-alive,
framing, timeouts, broken replies, TLS, concurrency, proxies, and no secret in an error."""

from __future__ import annotations

import asyncio
import gzip
import inspect
import socket
import ssl
import struct
import time
import zlib
from collections import deque
from pathlib import Path
from typing import Any

import ccxt
import ccxt.pro
import pytest

from mmcore.execution.live.errors import classify
from mmcore.execution.live.http_pool import HttpDisconnected, HttpPool, HttpTimeout
from mmcore.execution.live.lean_fetch import lean_class
from mmcore.testing.http_loopback import Step, read_request, write_step

JSON = (("content-type", "application/json"),)
OK = Step(200, JSON, (b'{"ok":true}',))


# a reply; "fin" / "rst": close or reset without a word; bytes: written raw before OK
Action = Step | str | bytes


class Scripted:
    """A loopback HTTP/1.1 server answering each request with the next scripted
    ``(action, delay_s, close_after)``, else ``OK``; counts the connections it accepted and
    keeps every request's ``(connection number, method, target)``."""

    def __init__(self, *script: Action | tuple[Action, float, bool], tls: Any = None) -> None:
        self.script = deque(s if isinstance(s, tuple) else (s, 0.0, False) for s in script)
        self.tls = tls
        self.accepts = 0
        self.requests: list[tuple[int, str, str]] = []
        self.bodies: list[bytes] = []
        self.headers: list[dict[str, str]] = []  # lower-cased names
        self._server: asyncio.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()
        self._tasks: set[asyncio.Task[Any]] = set()

    @property
    def url(self) -> str:
        assert self._server is not None
        port = self._server.sockets[0].getsockname()[1]
        return f"{'https' if self.tls else 'http'}://127.0.0.1:{port}"

    async def __aenter__(self) -> Scripted:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0, ssl=self.tls)
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._server is not None
        self._server.close()
        for writer in list(self._writers):
            writer.transport.abort()
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await self._server.wait_closed()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.accepts += 1
        conn = self.accepts
        self._writers.add(writer)
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        try:
            while (request := await read_request(reader)) is not None:
                self.requests.append((conn, request.method, request.target))
                self.bodies.append(request.body)
                self.headers.append(request.headers)
                step, delay_s, close_after = self.script.popleft() if self.script else (OK, 0, 0)
                if delay_s:
                    await asyncio.sleep(delay_s)
                if step == "rst":
                    sock = writer.get_extra_info("socket")
                    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                    writer.transport.abort()
                    break
                if isinstance(step, bytes):  # raw bytes, then the default reply
                    writer.write(step)
                    step = OK
                if step == "fin" or not await write_step(step, writer) or close_after:
                    break
        except (ConnectionError, asyncio.IncompleteReadError, ssl.SSLError):
            pass
        except asyncio.CancelledError:
            return  # the server is stopping: end quietly (asyncio logs a cancelled handler)
        finally:
            self._tasks.discard(task)
            self._writers.discard(writer)
            writer.close()


def lean(timeout_ms: int = 1000, **config: Any) -> Any:
    """A ccxt.pro Binance client on the lean transport (never pointed at Binance here)."""
    return lean_class(ccxt.pro.binance)({"timeout": timeout_ms, **config})


async def test_keep_alive_one_connection_carries_every_request() -> None:
    async with Scripted() as server:
        ex = lean()
        try:
            for i in range(20):
                assert await ex.fetch(f"{server.url}/api/v3/time?i={i}") == {"ok": True}
        finally:
            await ex.close()
    assert server.accepts == 1
    assert [t for _, _, t in server.requests] == [f"/api/v3/time?i={i}" for i in range(20)]


async def test_ccxt_still_signs_and_its_reply_hooks_see_every_reply() -> None:
    headers = (*JSON, ("x-mbx-used-weight-1m", "7"), ("X-Dup", "a"), ("X-Dup", "b"))
    reply = Step(200, headers, (b'{"orderId":5,"clientOrderId":"c1"}',))
    async with Scripted(reply) as server:
        ex = lean(apiKey="k" * 16, secret="s" * 16)
        ex.urls["api"] = {k: server.url + "/api/v3" for k in ex.urls["api"]}
        seen: list[int] = []
        inner = ex.on_rest_response

        def hook(code, *rest):  # type: ignore[no-untyped-def]
            seen.append(int(code))
            return inner(code, *rest)

        ex.on_rest_response = hook
        try:
            got = await ex.private_post_order({"symbol": "BTCUSDT", "newClientOrderId": "c1"})
        finally:
            await ex.close()
    assert got == {"orderId": 5, "clientOrderId": "c1"}
    assert seen == [200]
    assert ex.last_response_headers["x-mbx-used-weight-1m"] == "7"
    assert ex.last_response_headers["X-Dup"] == "a, b"  # repeated headers joined as ccxt does
    sent = server.headers[0]
    assert sent["x-mbx-apikey"] == "k" * 16 and sent["user-agent"] == ex.userAgent
    assert sent["content-type"] == "application/x-www-form-urlencoded"
    assert "Accept" not in ex.last_request_headers  # ccxt's record: only what ccxt set
    (_, method, target), body = server.requests[0], server.bodies[0].decode()
    assert (method, target) == ("POST", "/api/v3/order")
    assert "newClientOrderId=c1" in body and "signature=" in body and "timestamp=" in body


async def test_headers_ccxt_sets_in_any_case_are_not_doubled() -> None:
    async with Scripted() as server:
        ex = lean()
        try:
            await ex.fetch(server.url + "/j", "POST", {"content-type": "application/json"}, "{}")
            await ex.fetch(server.url + "/b", "POST", None, "a=1")
        finally:
            await ex.close()
    # a second Content-Type would come last and win in the server's dict
    assert server.headers[0]["content-type"] == "application/json"
    assert server.headers[1]["content-type"] == "application/octet-stream"  # as aiohttp


async def test_venue_errors_are_ccxt_exceptions_as_on_aiohttp() -> None:
    refused = Step(400, JSON, (b'{"code":-2010,"msg":"Order would immediately match and take."}',))
    teapot = Step(418, (*JSON, ("Retry-After", "3")), (b'{"code":-1003,"msg":"banned"}',))
    for transport in ("lean", "aiohttp"):
        async with Scripted(refused, teapot) as server:
            ex = lean() if transport == "lean" else ccxt.pro.binance({"timeout": 1000})
            ex.urls["api"] = {k: server.url + "/api/v3" for k in ex.urls["api"]}
            errors = []
            try:
                for _ in range(2):
                    with pytest.raises(ccxt.BaseError) as err:
                        await ex.public_get_ping()
                    errors.append(type(err.value))
            finally:
                await ex.close()
        assert errors == [ccxt.OrderImmediatelyFillable, ccxt.DDoSProtection], transport


async def test_a_connection_the_server_closed_while_idle_is_not_reused() -> None:
    async with Scripted((OK, 0.0, True)) as server:
        ex = lean()
        try:
            await ex.fetch(server.url + "/a")
            await asyncio.sleep(0.05)  # the server's FIN arrives while the connection is idle
            # a POST is never re-sent: it can only succeed if the closed connection is skipped
            assert await ex.fetch(server.url + "/b", "POST", None, "x=1") == {"ok": True}
        finally:
            await ex.close()
    assert server.accepts == 2
    assert [(c, t) for c, _, t in server.requests] == [(1, "/a"), (2, "/b")]


async def test_connection_close_and_read_to_eof_replies_end_the_connection() -> None:
    closing = Step(200, (*JSON, ("connection", "close")), (b'{"n":1}',))
    to_eof = Step(200, JSON, (b'{"n":', 0.02, b"2}"), framing="close")
    async with Scripted(closing, to_eof) as server:
        ex = lean()
        try:
            assert await ex.fetch(server.url + "/1") == {"n": 1}
            assert await ex.fetch(server.url + "/2") == {"n": 2}  # no length: read to EOF
            assert await ex.fetch(server.url + "/3") == {"ok": True}
        finally:
            await ex.close()
    assert server.accepts == 3


async def test_chunked_reply_is_read_whole_and_the_connection_kept() -> None:
    chunked = Step(200, JSON, (b'{"a":', 0.02, b"[1,2,", b"3]}"), framing="chunked")
    async with Scripted(chunked) as server:
        ex = lean()
        try:
            assert await ex.fetch(server.url + "/c") == {"a": [1, 2, 3]}
            assert await ex.fetch(server.url + "/d") == {"ok": True}
        finally:
            await ex.close()
    assert server.accepts == 1


async def test_compressed_replies_are_undone_and_an_unknown_coding_is_ambiguous() -> None:
    body = b'{"symbols":["BTCUSDT","ETHUSDT"]}'
    gz = Step(200, (*JSON, ("Content-Encoding", "gzip")), (gzip.compress(body),))
    zd = Step(200, (*JSON, ("content-encoding", "deflate")), (zlib.compress(body),))
    br = Step(200, (*JSON, ("content-encoding", "br")), (b"\x0b\x02\x80{}\x03",))
    async with Scripted(gz, zd, br) as server:
        ex = lean()
        try:
            assert await ex.fetch(server.url + "/gz") == {"symbols": ["BTCUSDT", "ETHUSDT"]}
            assert await ex.fetch(server.url + "/zd") == {"symbols": ["BTCUSDT", "ETHUSDT"]}
            with pytest.raises(ccxt.ExchangeError) as err:
                await ex.fetch(server.url + "/br")
        finally:
            await ex.close()
    assert classify(err.value) == "ambiguous"
    assert server.headers[0]["accept-encoding"] == "gzip, deflate"  # ccxt's ask, sent as is


async def test_an_interim_reply_is_skipped_for_the_real_one() -> None:
    early = b"HTTP/1.1 103 Early Hints\r\nLink: </x>; rel=preload\r\n\r\n"
    async with Scripted(early) as server:
        ex = lean()
        try:
            assert await ex.fetch(server.url + "/early") == {"ok": True}
            assert await ex.fetch(server.url + "/next") == {"ok": True}
        finally:
            await ex.close()
    assert server.accepts == 1


async def test_a_reply_nobody_asked_for_makes_the_connection_unusable() -> None:
    # two replies in one write: the second can only be read as the answer to the next
    # request, which would then get a stale reply
    stray = b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 11\r\n\r\n"
    stray += b'{"n":"one"}'
    async with Scripted(stray) as server:
        ex = lean()
        try:
            assert await ex.fetch(server.url + "/1") == {"n": "one"}
            assert await ex.fetch(server.url + "/2") == {"ok": True}  # on a new connection
        finally:
            await ex.close()
    assert [c for c, _, _ in server.requests] == [1, 2]


async def test_an_idle_connection_older_than_the_bound_is_dropped() -> None:
    pool = HttpPool(idle_s=0.05)
    async with Scripted() as server:
        try:
            await pool.request("GET", server.url + "/a", {}, None, timeout_s=1)
            await pool.request("GET", server.url + "/b", {}, None, timeout_s=1)
            await asyncio.sleep(0.1)
            await pool.request("GET", server.url + "/c", {}, None, timeout_s=1)
        finally:
            await pool.close()
    assert [c for c, _, _ in server.requests] == [1, 1, 2]


async def test_timeout_is_request_timeout_and_the_late_reply_never_read() -> None:
    late = Step(200, JSON, (b'{"late":', 0.4, b"true}"))  # head at once, body too late
    async with Scripted((late, 0.0, False), (OK, 0.4, False)) as server:
        ex = lean(timeout_ms=150)
        try:
            t0 = time.monotonic()
            with pytest.raises(ccxt.RequestTimeout) as err:
                await ex.fetch(server.url + "/slow-body")
            assert time.monotonic() - t0 < 0.35
            with pytest.raises(ccxt.RequestTimeout):
                await ex.fetch(server.url + "/slow-head")  # nothing at all in time
            assert classify(err.value) == "ambiguous"
            # a new connection each time: the late bytes never pass for the next reply
            assert await ex.fetch(server.url + "/next") == {"ok": True}
        finally:
            await ex.close()
    assert [c for c, _, _ in server.requests] == [1, 2, 3]


async def test_a_reply_cut_mid_body_is_ambiguous_as_on_aiohttp() -> None:
    for transport in ("lean", "aiohttp"):
        cut = Step(200, JSON, (b'{"orderId":', 0.02), declared_length=40, end="reset")
        async with Scripted(cut) as server:
            ex = lean() if transport == "lean" else ccxt.pro.binance({"timeout": 1000})
            try:
                with pytest.raises(ccxt.BaseError) as err:
                    await ex.fetch(server.url + "/order", "POST", None, "a=1")
            finally:
                await ex.close()
        # the same class on both transports: ccxt's bare ExchangeError, the transport's
        # error as its cause, read as "the venue may have it"
        assert type(err.value) is ccxt.ExchangeError, transport
        assert classify(err.value) == "ambiguous", transport
        if transport == "lean":
            assert isinstance(err.value.__cause__, HttpDisconnected)


async def test_refused_or_reset_before_the_reply_is_exchange_not_available() -> None:
    async with Scripted() as server:
        url = server.url
    ex = lean()
    try:
        with pytest.raises(ccxt.ExchangeNotAvailable):
            await ex.fetch(url + "/gone")  # nobody listens there any more
    finally:
        await ex.close()
    async with Scripted("rst", "fin") as server:
        ex = lean()
        try:
            for path in ("/rst", "/fin"):
                with pytest.raises(ccxt.ExchangeNotAvailable) as err:
                    await ex.fetch(server.url + path, "POST", None, "a=1")
                assert classify(err.value) == "ambiguous"
        finally:
            await ex.close()


async def test_an_idempotent_request_on_a_connection_closed_as_it_was_sent_is_sent_again() -> None:
    # the server reads the second request and closes without a word: the race of a
    # keep-alive connection closed by the server while the client writes on it
    for method, resent in (("GET", True), ("POST", False)):
        async with Scripted(OK, "fin") as server:
            ex = lean()
            try:
                await ex.fetch(server.url + "/a", method, None, "x=1" if method == "POST" else None)
                if resent:
                    assert await ex.fetch(server.url + "/b") == {"ok": True}
                else:
                    with pytest.raises(ccxt.BaseError) as err:
                        await ex.fetch(server.url + "/b", "POST", None, "x=2")
                    assert classify(err.value) == "ambiguous"
            finally:
                await ex.close()
        expected = [(1, "/a"), (1, "/b")] + ([(2, "/b")] if resent else [])
        assert [(c, t) for c, _, t in server.requests] == expected, method


async def test_concurrent_requests_go_on_separate_connections_up_to_the_cap() -> None:
    slow = [(OK, 0.1, False)] * 8
    async with Scripted(*slow) as server:
        ex = lean()
        try:
            t0 = time.monotonic()
            replies = await asyncio.gather(*(ex.fetch(f"{server.url}/{i}") for i in range(4)))
            elapsed = time.monotonic() - t0
            assert replies == [{"ok": True}] * 4
            assert server.accepts == 4 and elapsed < 0.35  # in parallel, not one after another
            await asyncio.gather(*(ex.fetch(f"{server.url}/{i}") for i in range(4)))
            assert server.accepts == 4  # the four idle connections were reused
        finally:
            await ex.close()
    pool = HttpPool(max_conns=2)
    async with Scripted(*slow) as server:
        try:
            await asyncio.gather(
                *(pool.request("GET", f"{server.url}/{i}", {}, None, timeout_s=2) for i in range(5))
            )
        finally:
            await pool.close()
    assert server.accepts == 2


async def test_a_request_waiting_for_a_connection_times_out_too() -> None:
    pool = HttpPool(max_conns=1)
    async with Scripted((OK, 0.3, False)) as server:
        try:
            first = asyncio.ensure_future(
                pool.request("GET", server.url + "/1", {}, None, timeout_s=1)
            )
            await asyncio.sleep(0.02)
            with pytest.raises(HttpTimeout):
                await pool.request("GET", server.url + "/2", {}, None, timeout_s=0.1)
            await first
            # the waiter left cleanly: the connection serves the next request
            await pool.request("GET", server.url + "/3", {}, None, timeout_s=1)
        finally:
            await pool.close()
    assert [t for _, _, t in server.requests] == ["/1", "/3"]


def _tls(tmp_path: Path) -> tuple[ssl.SSLContext, str]:
    """A server context with a certificate for 127.0.0.1 from a throwaway CA; the CA's file."""
    trustme = pytest.importorskip("trustme")
    ca = trustme.CA()
    server_ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1").configure_cert(server_ctx)
    cafile = tmp_path / "ca.pem"
    ca.cert_pem.write_to_path(str(cafile))
    return server_ctx, str(cafile)


async def test_https_with_the_exchange_ca_file_and_a_stranger_refused(tmp_path: Path) -> None:
    server_ctx, cafile = _tls(tmp_path)
    async with Scripted(tls=server_ctx) as server:
        ex = lean(cafile=cafile)  # ccxt's own setting (certifi's bundle by default)
        try:
            for _ in range(3):
                assert await ex.fetch(server.url + "/secure") == {"ok": True}
        finally:
            await ex.close()
        assert server.accepts == 1
        stranger = lean()  # certifi's CAs do not know the throwaway CA
        try:
            with pytest.raises(ccxt.ExchangeNotAvailable) as err:
                await stranger.fetch(server.url + "/secure")
        finally:
            await stranger.close()
        assert "CERTIFICATE_VERIFY_FAILED" in str(err.value.__cause__)
        unchecked = lean(verify=False)  # ccxt's verify=False: no check, as on aiohttp
        try:
            assert await unchecked.fetch(server.url + "/secure") == {"ok": True}
        finally:
            await unchecked.close()


async def test_a_proxy_setting_falls_back_to_ccxts_own_fetch() -> None:
    async with Scripted() as proxy:
        ex = lean(httpProxy=proxy.url)
        try:
            assert await ex.fetch("http://venue.invalid/api/v3/time") == {"ok": True}
        finally:
            await ex.close()
    assert ex.http_pool is None  # the lean pool was never used
    # aiohttp sent it to the proxy, with the whole URL as its target
    assert proxy.requests == [(1, "GET", "http://venue.invalid/api/v3/time")]


async def test_no_secret_in_any_transport_error(tmp_path: Path) -> None:
    key, secret = "KEY" + "k" * 29, "SECRET" + "s" * 26
    cut = Step(200, JSON, (b'{"a":', 0.02), declared_length=20, end="reset")
    async with Scripted(cut, (OK, 0.5, False)) as server:
        url = server.url
        errors: list[BaseException] = []
        for _ in range(2):  # a cut reply, then a timeout
            ex = lean(timeout_ms=200, apiKey=key, secret=secret)
            ex.urls["api"] = {k: url + "/api/v3" for k in ex.urls["api"]}
            try:
                with pytest.raises(ccxt.BaseError) as err:
                    await ex.private_post_order({"symbol": "BTCUSDT"})
                errors.append(err.value)
            finally:
                await ex.close()
    ex = lean(apiKey=key, secret=secret)
    ex.urls["api"] = {k: url + "/api/v3" for k in ex.urls["api"]}
    try:
        with pytest.raises(ccxt.ExchangeNotAvailable) as err:  # the server is gone
            await ex.private_post_order({"symbol": "BTCUSDT"})
        errors.append(err.value)
    finally:
        await ex.close()
    assert [type(e) for e in errors] == [
        ccxt.ExchangeError,
        ccxt.RequestTimeout,
        ccxt.ExchangeNotAvailable,
    ]
    for exc in errors:
        chain = [exc, exc.__cause__, exc.__context__]
        text = " ".join(f"{e!s} {e!r}" for e in chain if e is not None)
        assert key not in text and secret not in text


_ON_ASYNCIO = [test for name, test in sorted(globals().items()) if name.startswith("test_")]


@pytest.mark.parametrize("test", _ON_ASYNCIO, ids=lambda t: t.__name__[5:])
def test_on_uvloop(test: Any, tmp_path: Path) -> None:
    """Every test above again on uvloop, the live run's loop (its transports are not
    asyncio's classes: a check of that once broke every request there)."""
    import uvloop

    wants_path = "tmp_path" in inspect.signature(test).parameters
    uvloop.run(test(tmp_path) if wants_path else test())
