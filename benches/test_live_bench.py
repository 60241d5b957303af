"""Order round trip through the live adapter to the local fake venue, and the adapter's share.

Run: ``nice -n 10 python -m pytest benches/test_live_bench.py -q -p no:cacheprovider
--benchmark-only -s``. Two arms alternate on the same fake Binance spot venue and ccxt client:

* adapter: ``LiveVenue.submit`` (rules check, client id, journal-free request, ccxt's request
  building and HMAC signing, the HTTP round trip, reply parsing, the ack event queued) until
  ``OrderAcked`` is in the venue's queue;
* baseline: the same signed order request (built by ccxt's ``sign`` beforehand, not timed)
  posted on the same aiohttp session, until its JSON reply is parsed: the loopback round trip
  plus the fake venue's own handling.

* ccxt: ``create_order`` called directly (ccxt's own request building, signing, parsing).

The overheads are differences per triple (its three requests run back to back): mmcore's own
(adapter - ccxt) and ccxt's (ccxt - baseline); p50/p99 of each are reported.
"""

from __future__ import annotations

import asyncio
import json
import time

import numpy as np

from mmcore.execution import OrderAcked, OrderRequest, Side
from mmcore.execution.live.config import LiveConfig, RateLimits
from mmcore.execution.live.session import LiveSession
from mmcore.testing.fake_venue import FakeBinanceSpot, ccxt_exchange

PAIRS = 400
WARMUP = 20


async def _adapter(session: LiveSession, fake: FakeBinanceSpot, n: int) -> tuple[float, float]:
    """The adapter's round trip and the same minus the fake venue's own service time (us)."""
    venue = session.venue("BTCUSDT")
    cid = f"mm-BTCUSDT-{n}"
    t0 = time.perf_counter_ns()
    venue.submit(OrderRequest(cid, "BTCUSDT", Side.BUY, 9_000_000 + n, 0.001), 0.0)
    while True:
        done = [e for e in venue._events if e.client_id == cid]
        if done:
            break
        await asyncio.sleep(0)
    elapsed = (time.perf_counter_ns() - t0) * 1e-3
    assert isinstance(done[0], OrderAcked), done
    (served,) = [r for r in fake.requests if r.params.get("newClientOrderId") == cid]
    return elapsed, elapsed - served.service_s * 1e6


async def _ccxt(exchange, n: int) -> float:
    t0 = time.perf_counter_ns()
    params = {"clientOrderId": f"ccxt-{n}", "postOnly": True}
    reply = await exchange.create_order(
        "BTC/USDT", "limit", "buy", "0.001", f"{70_000 + n}", params
    )
    assert reply["clientOrderId"] == f"ccxt-{n}"
    return (time.perf_counter_ns() - t0) * 1e-3


async def _baseline(exchange, n: int) -> float:
    market = exchange.market("BTC/USDT")
    params = {
        "symbol": market["id"],
        "side": "BUY",
        "type": "LIMIT_MAKER",
        "quantity": "0.001",
        "price": f"{80_000 + n}.00",
        "newClientOrderId": f"raw-{n}",
    }
    req = exchange.sign("order", ["private"], "POST", params)
    t0 = time.perf_counter_ns()
    async with exchange.session.post(req["url"], data=req["body"], headers=req["headers"]) as r:
        reply = json.loads(await r.text())
    assert reply.get("clientOrderId") == f"raw-{n}", reply
    return (time.perf_counter_ns() - t0) * 1e-3


async def _run() -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    fake = FakeBinanceSpot()
    fake.seed_balance("USDT", "100000000")
    fake.weight_limit_1m = fake.order_limit_10s = 10_000_000  # a burst, not a trading rate
    async with fake:
        exchange = ccxt_exchange(fake, timeout_ms=5000)
        # the venue's published order limits would stop a burst this long: not measured here
        limits = RateLimits(orders_per_10s=1_000_000, orders_per_day=1_000_000)
        session = LiveSession(exchange, "bench", LiveConfig(deadman_s=0.0, rate=limits))
        try:
            await session.start(["BTCUSDT"])
            adapter, plain, base, net = [], [], [], []
            for n in range(PAIRS + WARMUP):
                a, a_net = await _adapter(session, fake, n)
                c = await _ccxt(exchange, n)
                b = await _baseline(exchange, n)
                if n >= WARMUP:
                    adapter.append(a)
                    net.append(a_net)
                    plain.append(c)
                    base.append(b)
            return np.array(adapter), np.array(net), np.array(plain), np.array(base)
        finally:
            await session.close()


def test_order_round_trip_and_adapter_overhead(benchmark):
    result: list[tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]] = []
    benchmark.pedantic(lambda: result.append(asyncio.run(_run())), rounds=1, iterations=1)
    adapter, net, plain, base = result[0]

    def p(x: np.ndarray) -> str:
        p50, p99 = np.percentile(x, [50, 99])
        return f"{p50:.0f}/{p99:.0f} us"

    print(
        f"\nover {len(adapter)} triples, p50/p99: through the adapter {p(adapter)} "
        f"({p(net)} without the fake's service time); "
        f"ccxt create_order alone {p(plain)}; the signed request alone {p(base)}; "
        f"mmcore's own overhead (adapter - ccxt, per triple) {p(adapter - plain)}; "
        f"ccxt's (ccxt - request) {p(plain - base)}; both (adapter - request) {p(adapter - base)}"
    )


async def _own_path_us(n: int) -> tuple[float, float]:
    """mmcore's own work per order without the network: ``submit`` (rules, client id, the
    task handed to the loop) and the reply's handling (``on_order``: status, ack queued),
    median microseconds each, on a started session (the spawned requests are cancelled)."""
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
