"""LLM client and advisor benchmarks against the local fake relay (loopback, no internet).

Run: python -m pytest benches/test_llm_bench.py --benchmark-only -p no:cacheprovider -s
"""

from __future__ import annotations

import asyncio
import json
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator

import httpx
import pytest

from mmcore.advisors import AdvisorService, RulesAdvisor
from mmcore.llm.client import RelayClient
from mmcore.llm.config import load_llm_config
from mmcore.testing.fake_relay import FakeRelay

MESSAGES = [{"role": "user", "content": "Reply with JSON."}]
FEATURES = {
    "mid": 100.0,
    "spread_bps": 2.0,
    "microprice": 100.0,
    "imbalance": 0.1,
    "volatility_bps": 10.0,
    "vpin": 0.2,
    "inventory": 0.0,
    "pnl": 0.0,
}
# Wide limits so the bench measures the client, not its rate control.
LIMITS = {
    "limits": {"rpm": 1e9, "tpm": 1e12, "max_concurrency": 512},
    "budget": {"hourly_usd": 1e9, "daily_usd": 1e9},
}


@pytest.fixture
def relay() -> Iterator[FakeRelay]:
    with FakeRelay() as server:
        yield server


@pytest.fixture
def loop() -> Iterator[asyncio.AbstractEventLoop]:
    ev = asyncio.new_event_loop()
    yield ev
    ev.close()


def test_client_overhead_vs_raw_httpx(benchmark, relay: FakeRelay, loop) -> None:
    """Median per-call time of RelayClient.complete minus a raw httpx POST of the same body."""
    config = load_llm_config({"base_url": relay.base_url, **LIMITS}, env={})
    client = RelayClient(config)
    loop.run_until_complete(client.start())
    raw = httpx.AsyncClient(base_url=relay.base_url)
    loop.run_until_complete(client.complete("signal", MESSAGES))
    body = relay.chat_requests[-1].body  # the raw call sends exactly what the client sent

    async def raw_call() -> None:
        # The same httpx path the client uses: serialise, send, read, parse.
        request = raw.build_request("POST", "/chat/completions", content=json.dumps(body).encode())
        resp = await raw.send(request, stream=True)
        json.loads(await resp.aread())
        await resp.aclose()

    async def client_call() -> None:
        await client.complete("signal", MESSAGES)

    def timed(fn) -> float:
        t0 = time.perf_counter()
        loop.run_until_complete(fn())
        return time.perf_counter() - t0

    for _ in range(50):  # warm both pools
        timed(raw_call), timed(client_call)
    # Interleaved pairs so machine load hits both sides alike; the median pair difference is
    # the client's own cost.
    pairs = [(timed(raw_call), timed(client_call)) for _ in range(1000)]
    raw_us = statistics.median(r for r, _ in pairs) * 1e6
    client_us = statistics.median(c for _, c in pairs) * 1e6
    overhead = statistics.median(c - r for r, c in pairs) * 1e6
    benchmark(lambda: loop.run_until_complete(client_call()))
    benchmark.extra_info.update(raw_us=raw_us, client_us=client_us, overhead_us=overhead)
    print(
        f"\nraw httpx {raw_us:.0f} us, RelayClient {client_us:.0f} us, overhead {overhead:.0f} us"
    )
    loop.run_until_complete(raw.aclose())
    loop.run_until_complete(client.aclose())
    assert overhead < 1000, "target: client overhead <= 1 ms per call"


def test_200_concurrent_calls(benchmark, relay: FakeRelay, loop) -> None:
    """200 calls held in flight together by the relay's gate; no pool exhaustion, no retry."""
    config = load_llm_config({"base_url": relay.base_url, **LIMITS}, env={})
    client = RelayClient(config)
    loop.run_until_complete(client.start())

    async def burst() -> list:
        relay.arm_gate(200)
        return await asyncio.gather(*(client.complete("signal", MESSAGES) for _ in range(200)))

    results = benchmark.pedantic(lambda: loop.run_until_complete(burst()), rounds=3, iterations=1)
    loop.run_until_complete(client.aclose())
    assert len(results) == 200 and all(r.attempts == 1 for r in results)
    assert relay.max_open_connections >= 200 and client.ledger.errors == {}
    benchmark.extra_info["peak_open_connections"] = relay.max_open_connections


_IMPORT_PROBE = (
    "import time, sys; import mmcore; t = time.perf_counter(); import {mod}; "
    "print((time.perf_counter() - t) * 1e3); assert 'httpx' not in sys.modules or {httpx_ok}"
)


@pytest.mark.parametrize(
    ("mod", "httpx_ok"),
    [("mmcore.llm", False), ("mmcore.advisors", True), ("mmcore.llm.client", True)],
)
def test_import_time(benchmark, mod: str, httpx_ok: bool) -> None:
    """Import cost in a fresh interpreter, after `import mmcore` (the extension and numpy)."""
    probe = _IMPORT_PROBE.format(mod=mod, httpx_ok=httpx_ok)

    def run() -> float:
        out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True)
        assert out.returncode == 0, out.stderr
        return float(out.stdout)

    ms = benchmark.pedantic(lambda: [run() for _ in range(5)], rounds=1, iterations=1)
    benchmark.extra_info["import_ms_median"] = statistics.median(ms)
    print(f"\nimport {mod}: median {statistics.median(ms):.1f} ms over 5 fresh interpreters")
    if mod == "mmcore.llm":
        assert statistics.median(ms) < 100, "target: import mmcore.llm <= 100 ms"


def test_advisor_latest_cost(benchmark, loop) -> None:
    """What the quote loop pays per tick to read current advice."""
    service = AdvisorService(
        [RulesAdvisor("signal", 60), RulesAdvisor("risk", 60)],
        min_interval_s=0,
        change_threshold=0.1,
    )

    async def warm() -> None:
        service.submit("BTCUSDT", FEATURES)
        while service.stats["outcome_ok"] < 2:
            await asyncio.sleep(0.001)

    loop.run_until_complete(warm())
    now = time.monotonic()
    latest = benchmark(service.latest, "BTCUSDT", now)
    assert latest.signal is not None and latest.risk is not None
    loop.run_until_complete(service.stop())


def test_advisor_submit_cost(benchmark, loop) -> None:
    """What the quote loop pays per tick to hand features to the advisors (no call waits)."""
    service = AdvisorService(
        [RulesAdvisor("signal", 60)], min_interval_s=3600, change_threshold=0.1
    )

    async def run() -> None:
        service.submit("BTCUSDT", FEATURES)
        await asyncio.sleep(0)
        benchmark(service.submit, "BTCUSDT", FEATURES)
        await service.stop()

    loop.run_until_complete(run())
