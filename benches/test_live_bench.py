"""Order round trip through the live adapter to a local fake venue, the fake's own time
subtracted per request, and the adapter's parts, on mmcore's lean HTTP transport and on
ccxt's aiohttp, alternated order by order in the same run.

Run: ``nice -n 10 python -m pytest benches/test_live_bench.py -q -p no:cacheprovider
--benchmark-only -s`` (``LIVE_BENCH_LOOP=asyncio`` runs the client on asyncio's own loop
instead of uvloop, the loop the live run uses; ``LIVE_BENCH_STREAM_LAG_MS=30`` has the fake
send its private-stream frames 30 ms late, and ``LIVE_BENCH_PAUSE_MS=40`` pauses after each
round (untimed): with both, ccxt.pro parses each round's frames in the pause instead of during
the round trips; the pause alone is the control, since a pause also lets caches go cold).

The fake Binance spot venue runs in a child process (:class:`FakeVenueProcess`), so its HTTP
server does not share the client's event loop; it reports its own time per request, from the
request's head read to the reply ready, in ``X-Fake-Service-Us``, which is subtracted from
each round trip. "The adapter" is everything on our side: ``LiveVenue.submit`` (rules, client
id, the task handed to the loop), ccxt building and signing the request, the HTTP client, the
reply's decoding and ccxt's error checks, and the ``OrderAcked`` event queued; plus the
loopback TCP between the two processes, which cannot be taken apart from it.

One session, one ccxt client (the :class:`~mmcore.execution.live.lean_fetch.LeanFetch`
class the live run uses); its ``lean_http`` switch picks the transport per request. Each order
is a new post-only limit order; per round, in this order:

* adapter (lean): ``LiveVenue.submit`` until its ``OrderAcked`` is queued, split by a wrapper
  around the pool's ``request`` (in this file, not in product code) into *build* (submit →
  request handed to the pool: mmcore's submit, ccxt's request building and signing), *http*
  (pool request → whole reply parsed, minus the fake's time) and *reply* (ccxt's decoding and
  error checks, mmcore's reply handling, the event);
* adapter (aiohttp): the same on ccxt's own ``fetch`` (no split: the fake's time is read
  from ccxt's ``last_response_headers``);
* ccxt: the unified ``create_order`` (market lookups, ``parse_order``) on the lean transport,
  for reference;
* request: the same order signed by ccxt beforehand (not timed) and sent on the lean pool,
  then on ccxt's aiohttp session: the HTTP clients and the loopback alone;
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
from typing import Any
from urllib.parse import urlsplit

import numpy as np

from mmcore.execution import OrderAcked, OrderRequest, Side
from mmcore.execution.live.config import LiveConfig, RateLimits
from mmcore.execution.live.http_pool import HttpPool, HttpReply
from mmcore.execution.live.session import LiveSession
from mmcore.testing.fake_venue import SERVICE_HEADER, FakeVenueProcess, ccxt_exchange

ORDERS = 400
WARMUP = 20
_SERVICE = SERVICE_HEADER.lower()


class _TimedPool:
    """Wraps a pool's ``request``: when the last one started and ended, and the fake's time
    on it (microseconds)."""

    def __init__(self, pool: HttpPool) -> None:
        self.inner = pool.request
        pool.request = self.request  # type: ignore[method-assign]
        self.started = self.ended = 0
        self.fake_us = 0.0

    async def request(self, *args: Any, **kwargs: Any) -> HttpReply:
        self.started = time.perf_counter_ns()
        reply = await self.inner(*args, **kwargs)
        self.ended = time.perf_counter_ns()
        self.fake_us = next(float(v) for k, v in reply.headers if k.lower() == _SERVICE)
        return reply


def _fake_us(exchange: Any) -> float:
    """The fake's time on the exchange's last reply (ccxt keeps its headers)."""
    return float(
        next(v for k, v in exchange.last_response_headers.items() if k.lower() == _SERVICE)
    )


async def _submit(session: LiveSession, cid: str, n: int) -> tuple[int, int, int, int]:
    """One order through the adapter: (cpu start, wall start, wall end, cpu end) in ns."""
    venue = session.venue("BTCUSDT")
    c0, t0 = time.thread_time_ns(), time.perf_counter_ns()
    venue.submit(OrderRequest(cid, "BTCUSDT", Side.BUY, 9_000_000 + n, 0.001), 0.0)
    (task,) = [t for t in session._tasks if t.get_name().endswith(f"create {cid}")]
    await task  # the reply is handled and the event queued by the time the task ends
    t1, c1 = time.perf_counter_ns(), time.thread_time_ns()
    (event,) = [e for e in venue.poll(0.0) if e.client_id == cid]
    assert isinstance(event, OrderAcked), event
    return c0, t0, t1, c1


async def _adapter(session: LiveSession, timed: _TimedPool, n: int) -> tuple[float, ...]:
    """Lean: (round trip, minus the fake, build, http, reply, cpu) in microseconds."""
    session.exchange.lean_http = True
    c0, t0, t1, c1 = await _submit(session, f"mm-BTCUSDT-{n}", n)
    total = (t1 - t0) * 1e-3
    build = (timed.started - t0) * 1e-3
    http = (timed.ended - timed.started) * 1e-3 - timed.fake_us
    reply = (t1 - timed.ended) * 1e-3
    return total, total - timed.fake_us, build, http, reply, (c1 - c0) * 1e-3


async def _adapter_aiohttp(session: LiveSession, n: int) -> tuple[float, float, float]:
    """aiohttp: (round trip, minus the fake, cpu) in microseconds."""
    session.exchange.lean_http = False
    try:
        c0, t0, t1, c1 = await _submit(session, f"mm-BTCUSDT-a{n}", n)
    finally:
        session.exchange.lean_http = True
    total = (t1 - t0) * 1e-3
    return total, total - _fake_us(session.exchange), (c1 - c0) * 1e-3


async def _ccxt(exchange: Any, n: int) -> tuple[float, float]:
    """The unified ``create_order``: (round trip minus the fake, cpu) in microseconds."""
    params = {"clientOrderId": f"ccxt-{n}", "postOnly": True}
    c0, t0 = time.thread_time_ns(), time.perf_counter_ns()
    reply = await exchange.create_order(
        "BTC/USDT", "limit", "buy", "0.001", f"{70_000 + n}", params
    )
    t1, c1 = time.perf_counter_ns(), time.thread_time_ns()
    assert reply["clientOrderId"] == f"ccxt-{n}"
    return (t1 - t0) * 1e-3 - _fake_us(exchange), (c1 - c0) * 1e-3


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


async def _request(exchange: Any, pool: HttpPool, n: int) -> tuple[float, float]:
    """The pre-signed request on the lean pool: (round trip minus the fake, cpu) in us."""
    req = exchange.sign("order", ["private"], "POST", _raw_order(f"raw-{n}", 80_000 + n))
    body = req["body"].encode()
    c0, t0 = time.thread_time_ns(), time.perf_counter_ns()
    reply = await pool.request("POST", req["url"], req["headers"], body, timeout_s=5.0)
    t1, c1 = time.perf_counter_ns(), time.thread_time_ns()
    fake_us = next(float(v) for k, v in reply.headers if k.lower() == _SERVICE)
    assert f'"raw-{n}"'.encode() in reply.body, reply.body
    return (t1 - t0) * 1e-3 - fake_us, (c1 - c0) * 1e-3


async def _request_aiohttp(exchange: Any, n: int) -> tuple[float, float]:
    """The pre-signed request on ccxt's aiohttp session: (round trip minus the fake, cpu)."""
    req = exchange.sign("order", ["private"], "POST", _raw_order(f"rawa-{n}", 50_000 + n))
    c0, t0 = time.thread_time_ns(), time.perf_counter_ns()
    async with exchange.session.post(req["url"], data=req["body"], headers=req["headers"]) as r:
        body = await r.read()
        fake_us = float(r.headers[SERVICE_HEADER])
    t1, c1 = time.perf_counter_ns(), time.thread_time_ns()
    assert f'"rawa-{n}"'.encode() in body, body
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
        return reply, float(fields[_SERVICE])

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


ARMS = ("adapter", "adapter_aiohttp", "ccxt", "request", "request_aiohttp", "floor")


def _stream_lag_s() -> float:
    return float(os.environ.get("LIVE_BENCH_STREAM_LAG_MS") or 0) / 1000


def _pause_s() -> float:
    return float(os.environ.get("LIVE_BENCH_PAUSE_MS") or 0) / 1000


async def _run() -> dict[str, np.ndarray]:
    lag_s = _stream_lag_s()
    fake = FakeVenueProcess(
        "binance-spot", balances={"USDT": "100000000"}, unlimited=True, stream_lag_s=lag_s
    )
    async with fake:
        exchange = ccxt_exchange(fake, timeout_ms=5000)
        # the venue's published order limits would stop a burst this long: not measured here
        limits = RateLimits(orders_per_10s=1_000_000, orders_per_day=1_000_000)
        session = LiveSession(exchange, "bench", LiveConfig(deadman_s=0.0, rate=limits))
        raw = _RawHttp(fake.rest_url)
        rows: dict[str, list[Any]] = {k: [] for k in ARMS}
        rows["fake"] = []
        try:
            await session.start(["BTCUSDT"])
            assert exchange.http_pool is not None  # start-up went over the lean pool
            timed = _TimedPool(exchange.http_pool)
            gc.collect()
            gc.freeze()  # as the live run does after start-up
            for n in range(ORDERS + WARMUP):
                adapter = await _adapter(session, timed, n)
                fake_us = timed.fake_us
                round_ = {
                    "adapter": adapter,
                    "adapter_aiohttp": await _adapter_aiohttp(session, n),
                    "ccxt": await _ccxt(exchange, n),
                    "request": await _request(exchange, exchange.http_pool, n),
                    "request_aiohttp": await _request_aiohttp(exchange, n),
                    "floor": await _floor(exchange, raw, n),
                }
                if _pause_s():  # with a stream lag, this round's frames are parsed now
                    await asyncio.sleep(_pause_s())
                if n >= WARMUP:
                    for arm, row in round_.items():
                        rows[arm].append(row)
                    rows["fake"].append(fake_us)
            connects = exchange.http_pool.connects
        finally:
            raw.close()
            await session.close()
            gc.unfreeze()
    result = {k: np.array(v) for k, v in rows.items()}
    result["connects"] = np.array([connects])
    return result


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
    adapter, aio = r["adapter"], r["adapter_aiohttp"]

    def p(x: np.ndarray) -> str:
        p50, p99 = np.percentile(x, [50, 99])
        return f"{p50:.0f}/{p99:.0f}"

    loop = os.environ.get("LIVE_BENCH_LOOP") or "uvloop"
    lag = f", stream frames {_stream_lag_s() * 1000:.0f} ms late" if _stream_lag_s() else ""
    lag += f", {_pause_s() * 1000:.0f} ms pause per round" if _pause_s() else ""
    print(
        f"\n{len(adapter)} orders per arm ({loop}{lag}), p50/p99 us, alternated in one run:\n"
        f"  adapter (lean) round trip {p(adapter[:, 0])}; minus the fake's time "
        f"{p(adapter[:, 1])} (the fake's time {p(r['fake'])})\n"
        f"    build + sign {p(adapter[:, 2])}, http minus the fake {p(adapter[:, 3])}, "
        f"reply + event {p(adapter[:, 4])}; cpu {p(adapter[:, 5])}\n"
        f"  adapter (aiohttp) round trip {p(aio[:, 0])}; minus the fake's time "
        f"{p(aio[:, 1])}; cpu {p(aio[:, 2])}\n"
        f"  ccxt create_order (lean) minus the fake {p(r['ccxt'][:, 0])}; "
        f"cpu {p(r['ccxt'][:, 1])}\n"
        f"  pre-signed request, lean pool, minus the fake {p(r['request'][:, 0])}; "
        f"cpu {p(r['request'][:, 1])}\n"
        f"  pre-signed request, aiohttp, minus the fake {p(r['request_aiohttp'][:, 0])}; "
        f"cpu {p(r['request_aiohttp'][:, 1])}\n"
        f"  the same on a raw stream minus the fake {p(r['floor'][:, 0])}; "
        f"cpu {p(r['floor'][:, 1])}\n"
        f"  lean pool connections opened: {int(r['connects'][0])}"
    )
    benchmark.extra_info.update(
        adapter_p50_us=float(np.percentile(adapter[:, 1], 50)),
        adapter_p99_us=float(np.percentile(adapter[:, 1], 99)),
        adapter_aiohttp_p50_us=float(np.percentile(aio[:, 1], 50)),
        adapter_aiohttp_p99_us=float(np.percentile(aio[:, 1], 99)),
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
