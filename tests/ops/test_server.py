"""The ops HTTP server on its own: bad requests get clear errors, a stalled client blocks
nobody, control needs the token, a failing handler answers 500."""

from __future__ import annotations

import asyncio
import logging

import httpx
from prometheus_client import CollectorRegistry, Counter

from mmcore.ops.server import OpsServer

TOKEN = "server-test-token"


def _server(calls: list[str], token: str | None = TOKEN) -> OpsServer:
    registry = CollectorRegistry()
    Counter("mmcore_test_events", "test", registry=registry).inc(3)

    def boom() -> None:
        raise RuntimeError("handler broke")

    return OpsServer(
        registry=registry,
        status=lambda: {"x": float("nan")},
        not_ready=lambda: [],
        controls={"halt": lambda: calls.append("halt") or "done", "flatten": boom},
        token=token,
    )


async def _raw(port: int, data: bytes) -> bytes:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(data)
    await writer.drain()
    answer = await reader.read()
    writer.close()
    return answer


async def test_bad_requests_get_clear_errors_and_a_stalled_client_blocks_nobody():
    calls: list[str] = []
    server = await _server(calls).start()
    try:
        stalled = await asyncio.open_connection("127.0.0.1", server.port)  # sends nothing
        assert (await _raw(server.port, b"NONSENSE\r\n\r\n")).startswith(b"HTTP/1.1 400")
        big = b"POST /halt HTTP/1.1\r\nContent-Length: 999999\r\n\r\n"
        assert (await _raw(server.port, big)).startswith(b"HTTP/1.1 413")
        bad_len = b"GET /health HTTP/1.1\r\nContent-Length: x\r\n\r\n"
        assert b"content-length" in await _raw(server.port, bad_len)
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{server.port}") as c:
            assert (await c.get("/nope")).status_code == 404
            assert (await c.get("/health")).json() == {"status": "ok"}
            assert (await c.get("/status")).json() == {"x": None}  # NaN is null in JSON
            metrics = (await c.get("/metrics")).text
            assert "mmcore_test_events_total 3.0" in metrics
            auth = {"Authorization": f"Bearer {TOKEN}"}
            assert (await c.post("/halt", headers={"Authorization": "Bearer x"})).status_code == 401
            assert calls == []
            assert (await c.post("/halt", headers=auth)).json() == {
                "action": "halt",
                "result": "done",
            }
            failed = await c.post("/flatten", headers=auth)
            assert failed.status_code == 500 and "handler broke" in failed.text
        assert calls == ["halt"] and server.unauthorized == 1
        stalled[1].close()
    finally:
        await server.stop()


async def test_without_a_configured_token_control_is_refused(caplog):
    calls: list[str] = []
    caplog.set_level(logging.INFO, logger="mmcore")
    server = await _server(calls, token=None).start()
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{server.port}") as c:
            r = await c.post("/halt", headers={"Authorization": "Bearer anything"})
        assert r.status_code == 403 and calls == []
    finally:
        await server.stop()
    assert "control=disabled" in caplog.text  # the operator is told at start-up


async def test_the_token_never_appears_in_logs_or_repr(caplog):
    caplog.set_level(logging.DEBUG, logger="mmcore")
    server = await _server([]).start()
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{server.port}") as c:
            await c.post("/halt", headers={"Authorization": f"Bearer {TOKEN}x"})
            await c.post("/halt", headers={"Authorization": f"Bearer {TOKEN}"})
    finally:
        await server.stop()
    assert TOKEN not in caplog.text and TOKEN not in repr(server)
