"""Order round trip through the live adapter to a local fake venue, the fake's own time
subtracted per request, and the adapter's parts.

Run: ``nice -n 10 python -m pytest benches/test_live_bench.py -q -p no:cacheprovider
--benchmark-only -s`` (``LIVE_BENCH_LOOP=asyncio`` runs the client on asyncio's own loop
instead of uvloop, the loop the live run uses).

The fake Binance spot venue runs in a child process (:class:`FakeVenueProcess`), so its HTTP
server does not share the client's event loop; it reports its own time per request, from the
request's head read to the reply ready, in ``X-Fake-Service-Us``, which is subtracted from
each round trip. "The adapter" is everything on our side: ``LiveVenue.submit`` (rules, client
id, the task handed to the loop), ccxt building and signing the request and its rate limiter,
the HTTP client (aiohttp, keep-alive), the reply's decoding and the ``OrderAcked`` event
queued; plus the loopback TCP between the two processes, which cannot be taken apart from it.

Four arms alternate on the same client (each order is a new post-only limit order):

* adapter: ``LiveVenue.submit`` until its ``OrderAcked`` is queued, split by aiohttp's trace
  hooks into *build* (submit → HTTP request started: mmcore's submit, ccxt's request building
  and signing), *http* (request started → reply head received, minus the fake's time) and
  *reply* (reply head → event queued: the body read, its decoding, the event);
* ccxt: the unified ``create_order`` (market lookups, ``parse_order``), for reference;
* request: the same order signed by ccxt beforehand (not timed) and posted on the same aiohttp
  session: the HTTP client and the loopback alone;
* floor: that signed request written on one keep-alive asyncio stream and its reply read back
  by hand: the loopback and the event loop, no HTTP client.

Each arm's CPU time is printed too (``time.thread_time``: the main thread, where the client
runs): on a shared machine the wall clock's tail is mostly waiting for a core, the CPU time is
the work.
"""

from __future__ import annotations

import asyncio
import gc
import os
import time
from types import SimpleNamespace
from typing import Any
from urllib.parse import urlsplit

import aiohttp
import numpy as np

from mmcore.execution import OrderAcked, OrderRequest, Side
from mmcore.execution.live.config import LiveConfig, RateLimits
from mmcore.execution.live.session import LiveSession
from mmcore.testing.fake_venue import SERVICE_HEADER, FakeVenueProcess, ccxt_exchange

ORDERS = 400
WARMUP = 20


class _Trace:
    """aiohttp's hooks: when the last request started and its reply head arrived, and the
    fake's own time on it (microseconds)."""

    def __init__(self) -> None:
        self.config = aiohttp.TraceConfig()
        self.config.on_request_start.append(self._start)
        self.config.on_request_end.append(self._end)
        self.started = self.ended = 0
        self.fake_us = 0.0

    async def _start(self, _session: Any, _ctx: SimpleNamespace, params: Any) -> None:
        if params.url.scheme == "http":
            self.started = time.perf_counter_ns()

    async def _end(self, _session: Any, _ctx: SimpleNamespace, params: Any) -> None:
        served = params.response.headers.get(SERVICE_HEADER)
        if served is not None:  # not a websocket handshake (ccxt.pro opens them here too)
            self.ended = time.perf_counter_ns()
            self.fake_us = float(served)


async def _adapter(session: LiveSession, trace: _Trace, n: int) -> tuple[float, ...]:
    """One order through the adapter: (round trip, minus the fake, build, http, reply, cpu)
    in microseconds."""
    venue = session.venue("BTCUSDT")
    cid = f"mm-BTCUSDT-{n}"
    c0, t0 = time.thread_time_ns(), time.perf_counter_ns()
    venue.submit(OrderRequest(cid, "BTCUSDT", Side.BUY, 9_000_000 + n, 0.001), 0.0)
    (task,) = [t for t in session._tasks if t.get_name().endswith(f"create {cid}")]
    await task  # the reply is handled and the event queued by the time the task ends
    t1, c1 = time.perf_counter_ns(), time.thread_time_ns()
    (event,) = [e for e in venue.poll(0.0) if e.client_id == cid]
    assert isinstance(event, OrderAcked), event
    total = (t1 - t0) * 1e-3
    build = (trace.started - t0) * 1e-3
    http = (trace.ended - trace.started) * 1e-3 - trace.fake_us
    reply = (t1 - trace.ended) * 1e-3
    return total, total - trace.fake_us, build, http, reply, (c1 - c0) * 1e-3


async def _ccxt(exchange: Any, trace: _Trace, n: int) -> tuple[float, float]:
    """The unified ``create_order``: (round trip minus the fake, cpu) in microseconds."""
    params = {"clientOrderId": f"ccxt-{n}", "postOnly": True}
    c0, t0 = time.thread_time_ns(), time.perf_counter_ns()
    reply = await exchange.create_order(
        "BTC/USDT", "limit", "buy", "0.001", f"{70_000 + n}", params
    )
    t1, c1 = time.perf_counter_ns(), time.thread_time_ns()
    assert reply["clientOrderId"] == f"ccxt-{n}"
    return (t1 - t0) * 1e-3 - trace.fake_us, (c1 - c0) * 1e-3


def _raw_order(client_id: str, price: int) -> dict[str, str]:
    return {
        "symbol": "BTCUSDT",
        "side": "BUY",
        "type": "LIMIT_MAKER",
        "quantity": "0.001",
        "price": f"{price}.00",
        "newClientOrderId": client_id,
        "newOrderRespType": "ACK",
    }


async def _request(exchange: Any, n: int) -> tuple[float, float]:
    """The pre-signed request on the same session: (round trip minus the fake, cpu) in
    microseconds."""
    req = exchange.sign("order", ["private"], "POST", _raw_order(f"raw-{n}", 80_000 + n))
    c0, t0 = time.thread_time_ns(), time.perf_counter_ns()
    async with exchange.session.post(req["url"], data=req["body"], headers=req["headers"]) as r:
        body = await r.read()
        fake_us = float(r.headers[SERVICE_HEADER])
    t1, c1 = time.perf_counter_ns(), time.thread_time_ns()
    assert f'"raw-{n}"'.encode() in body, body
    return (t1 - t0) * 1e-3 - fake_us, (c1 - c0) * 1e-3


class _RawHttp:
    """The floor under any HTTP client: a request written as bytes on one keep-alive asyncio
    stream and its reply read back by Content-Length (no pooling, timeouts or redirects)."""

    def __init__(self, rest_url: str) -> None:
        self.url = urlsplit(rest_url)
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def post(self, url: str, body: str, headers: dict[str, str]) -> tuple[bytes, float]:
        """The reply's body and the fake's time on it (us)."""
        if self.writer is None:
            self.reader, self.writer = await asyncio.open_connection(
                self.url.hostname, self.url.port
            )
        assert self.reader is not None
        target = urlsplit(url)
        path = target.path + (f"?{target.query}" if target.query else "")
        payload = body.encode()
        head = f"POST {path} HTTP/1.1\r\nHost: {self.url.netloc}\r\n"
        head += "".join(f"{k}: {v}\r\n" for k, v in headers.items())
        head += f"Content-Length: {len(payload)}\r\n\r\n"
        self.writer.write(head.encode() + payload)
        lines = (await self.reader.readuntil(b"\r\n\r\n")).decode("latin-1").split("\r\n")
        fields = dict(line.lower().split(": ", 1) for line in lines[1:] if ": " in line)
        reply = await self.reader.readexactly(int(fields["content-length"]))
        return reply, float(fields[SERVICE_HEADER.lower()])

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()


async def _floor(exchange: Any, raw: _RawHttp, n: int) -> tuple[float, float]:
    """The pre-signed request on a raw stream: (round trip minus the fake, cpu) in us."""
    req = exchange.sign("order", ["private"], "POST", _raw_order(f"floor-{n}", 60_000 + n))
    c0, t0 = time.thread_time_ns(), time.perf_counter_ns()
    body, fake_us = await raw.post(req["url"], req["body"] or "", req["headers"])
    t1, c1 = time.perf_counter_ns(), time.thread_time_ns()
    assert f'"floor-{n}"'.encode() in body, body
    return (t1 - t0) * 1e-3 - fake_us, (c1 - c0) * 1e-3


async def _run() -> dict[str, np.ndarray]:
    fake = FakeVenueProcess("binance-spot", balances={"USDT": "100000000"}, unlimited=True)
    async with fake:
        trace = _Trace()
        http = aiohttp.ClientSession(trace_configs=[trace.config])
        exchange = ccxt_exchange(fake, timeout_ms=5000, session=http)
        # the venue's published order limits would stop a burst this long: not measured here
        limits = RateLimits(orders_per_10s=1_000_000, orders_per_day=1_000_000)
        session = LiveSession(exchange, "bench", LiveConfig(deadman_s=0.0, rate=limits))
        raw = _RawHttp(fake.rest_url)
        rows: dict[str, list[Any]] = {k: [] for k in ("adapter", "ccxt", "request", "floor")}
        rows["fake"] = []
        try:
            await session.start(["BTCUSDT"])
            gc.collect()
            gc.freeze()  # as the live run does after start-up
            for n in range(ORDERS + WARMUP):
                adapter = await _adapter(session, trace, n)
                fake_us = trace.fake_us
                ccxt = await _ccxt(exchange, trace, n)
                request = await _request(exchange, n)
                floor = await _floor(exchange, raw, n)
                if n >= WARMUP:
                    rows["adapter"].append(adapter)
                    rows["ccxt"].append(ccxt)
                    rows["request"].append(request)
                    rows["floor"].append(floor)
                    rows["fake"].append(fake_us)
        finally:
            raw.close()
            await session.close()
            await http.close()
            gc.unfreeze()
    return {k: np.array(v) for k, v in rows.items()}


def _loop_runner():
    if os.environ.get("LIVE_BENCH_LOOP") == "asyncio":
        return asyncio.run
    import uvloop

    return uvloop.run


def test_order_round_trip_and_adapter_overhead(benchmark):
    result: list[dict[str, np.ndarray]] = []
    run = _loop_runner()
    benchmark.pedantic(lambda: result.append(run(_run())), rounds=1, iterations=1)
    r = result[0]
    adapter, ccxt, request, floor = r["adapter"], r["ccxt"], r["request"], r["floor"]

    def p(x: np.ndarray) -> str:
        p50, p99 = np.percentile(x, [50, 99])
        return f"{p50:.0f}/{p99:.0f}"

    loop = os.environ.get("LIVE_BENCH_LOOP") or "uvloop"
    print(
        f"\n{len(adapter)} orders per arm ({loop}), p50/p99 us:\n"
        f"  adapter round trip {p(adapter[:, 0])}; minus the fake's time {p(adapter[:, 1])} "
        f"(the fake's time {p(r['fake'])})\n"
        f"    build + sign {p(adapter[:, 2])}, http minus the fake {p(adapter[:, 3])}, "
        f"reply + event {p(adapter[:, 4])}; cpu {p(adapter[:, 5])}\n"
        f"  ccxt create_order minus the fake {p(ccxt[:, 0])}; cpu {p(ccxt[:, 1])}\n"
        f"  pre-signed request minus the fake {p(request[:, 0])}; cpu {p(request[:, 1])}\n"
        f"  the same on a raw stream minus the fake {p(floor[:, 0])}; cpu {p(floor[:, 1])}"
    )
    benchmark.extra_info.update(
        adapter_p50_us=float(np.percentile(adapter[:, 1], 50)),
        adapter_p99_us=float(np.percentile(adapter[:, 1], 99)),
    )


async def _own_path_us(n: int) -> tuple[float, float]:
    """mmcore's own work per order without the network: ``submit`` (rules, client id, the
    task handed to the loop) and the reply's handling (``on_order``: status, ack queued),
    median microseconds each, on a started session (the spawned requests are cancelled)."""
    from mmcore.testing.fake_venue import FakeBinanceSpot

    fake = FakeBinanceSpot()
    async with fake:
        exchange = ccxt_exchange(fake, timeout_ms=5000)
        session = LiveSession(exchange, "bench", LiveConfig(deadman_s=0.0))
        try:
            await session.start(["BTCUSDT"])
            venue = session.venue("BTCUSDT")
            submit, reply = [], []
            for i in range(n):
                cid = f"mm-BTCUSDT-{i}"
                t0 = time.perf_counter_ns()
                venue.submit(OrderRequest(cid, "BTCUSDT", Side.BUY, 9_000_000, 0.001), 0.0)
                t1 = time.perf_counter_ns()
                for task in list(session._tasks):
                    if task.get_name().endswith(f"create {cid}"):
                        task.cancel()
                answer = {"id": str(i), "clientOrderId": cid, "status": "open", "filled": 0.0}
                t2 = time.perf_counter_ns()
                venue.on_order(answer, "create")
                t3 = time.perf_counter_ns()
                submit.append((t1 - t0) * 1e-3)
                reply.append((t3 - t2) * 1e-3)
                venue.poll(0.0)
            await asyncio.sleep(0)
            return float(np.median(submit)), float(np.median(reply))
        finally:
            await session.close()


def test_adapter_own_work_per_order(benchmark):
    result: list[tuple[float, float]] = []
    benchmark.pedantic(lambda: result.append(asyncio.run(_own_path_us(5000))), rounds=1)
    submit_us, reply_us = result[0]
    print(
        f"\nmmcore's own work per order (median): submit {submit_us:.1f} us, "
        f"reply handling {reply_us:.1f} us"
    )
