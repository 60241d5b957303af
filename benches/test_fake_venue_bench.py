"""Order round trip through ccxt 4.5.90 to the local fake venue, with the fake's own time taken
out: the floor any live adapter built on ccxt starts from (issue 13's adapter bench adds the
adapter's own work on top of this).

Run: ``python -m pytest benches/test_fake_venue_bench.py --benchmark-only -p no:cacheprovider -s``
"""

from __future__ import annotations

import asyncio
import statistics
import time
from typing import Any

import pytest

from mmcore.testing.fake_venue import FakeBinanceSpot, FakeBinanceUsdm, FakeBybit, ccxt_exchange
from mmcore.testing.fake_venue.binance_common import BinanceFamily

ROUNDS = 300


def _quantiles_us(samples: list[float]) -> dict[str, float]:
    cuts = statistics.quantiles(samples, n=100)
    return {"p50_us": cuts[49] * 1e6, "p99_us": cuts[98] * 1e6}


async def _round_trips(venue: Any, symbol: str, qty: float) -> dict[str, float]:
    if isinstance(venue, BinanceFamily):  # the bench measures round trips, not the limits
        venue.order_limit_10s = venue.weight_limit_1m = 10**9
    async with venue:
        venue.seed_balance("USDT", "100000000")
        ex = ccxt_exchange(venue)
        try:
            await ex.load_markets()
            totals, served = [], []
            for i in range(ROUNDS):
                started = time.perf_counter()
                await ex.create_order(
                    symbol,
                    "limit",
                    "buy",
                    qty,
                    90000.0,
                    {"postOnly": True, "clientOrderId": f"b{i}"},
                )
                totals.append(time.perf_counter() - started)
                served.append(venue.requests[-1].service_s)
                await ex.cancel_all_orders(symbol)
        finally:
            await ex.close()
    overhead = [t - s for t, s in zip(totals, served, strict=True)]
    total, fake, ccxt_side = (_quantiles_us(x) for x in (totals, served, overhead))
    return {
        "total_p50_us": total["p50_us"],
        "total_p99_us": total["p99_us"],
        "fake_p50_us": fake["p50_us"],
        "fake_p99_us": fake["p99_us"],
        "without_fake_p50_us": ccxt_side["p50_us"],
        "without_fake_p99_us": ccxt_side["p99_us"],
    }


@pytest.mark.parametrize(
    ("make", "symbol", "qty"),
    [
        (FakeBinanceSpot, "BTC/USDT", 0.001),
        (FakeBinanceUsdm, "BTC/USDT:USDT", 0.002),
        (lambda: FakeBybit("linear"), "BTC/USDT:USDT", 0.002),
    ],
    ids=["binance-spot", "binance-usdm", "bybit-linear"],
)
def test_ccxt_order_round_trip(benchmark, make, symbol, qty) -> None:  # type: ignore[no-untyped-def]
    result = benchmark.pedantic(
        lambda: asyncio.run(_round_trips(make(), symbol, qty)), rounds=1, iterations=1
    )
    benchmark.extra_info.update(result)
    print(f"\n{symbol} {ROUNDS} create_order round trips: " + ", ".join(
        f"{k}={v:.0f}" for k, v in result.items()))  # fmt: skip
    assert result["without_fake_p50_us"] > 0
