"""The fake venue served from a child process (benchmarks): ccxt trades on it through its URL
settings, every REST reply carries the fake's own time, keys stay off the command line, and
the child exits when the parent closes it."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from tests.venue.conftest import within

from mmcore.testing.fake_venue import (
    SERVICE_HEADER,
    FakeBinanceSpot,
    FakeVenueProcess,
    ccxt_exchange,
)


async def test_child_venue_serves_ccxt_and_times_each_reply():
    fake = FakeVenueProcess(
        "binance-spot", balances={"USDT": "1000"}, api_key="child-key", secret="child-secret-xyz"
    )
    async with fake:
        assert fake.pid is not None
        cmdline = Path(f"/proc/{fake.pid}/cmdline").read_bytes()
        assert b"child-secret-xyz" not in cmdline and b"child-key" not in cmdline
        assert "child-secret-xyz" not in repr(fake)
        exchange = ccxt_exchange(fake, timeout_ms=3000)
        try:
            order = await within(
                exchange.create_order(
                    "BTC/USDT", "limit", "buy", 0.001, 90000, {"clientOrderId": "p1"}
                )
            )
            assert order["clientOrderId"] == "p1" and order["status"] == "open"
            served = int(exchange.last_response_headers[SERVICE_HEADER])
            assert 0 <= served < 5_000_000  # whole microseconds, under the 5 s of a request
            balance = await within(exchange.fetch_balance())
            assert balance["USDT"]["used"] == pytest.approx(90.0)  # seeded, then locked
        finally:
            await exchange.close()
        proc = fake._proc
    assert proc is not None and proc.returncode == 0  # stopped by closing its stdin


async def test_in_process_fake_times_replies_too():
    async with FakeBinanceSpot() as fake:
        exchange = ccxt_exchange(fake)
        try:
            started = time.perf_counter()
            await within(exchange.fetch_time())
            elapsed_us = (time.perf_counter() - started) * 1e6
        finally:
            await exchange.close()
        served = int(exchange.last_response_headers[SERVICE_HEADER])
        assert 0 <= served <= elapsed_us
        assert fake.requests[-1].service_s * 1e6 == pytest.approx(served, abs=1)


def test_unknown_child_venue_is_named():
    with pytest.raises(ValueError, match="venue: 'kraken' is not one of binance-spot"):
        FakeVenueProcess("kraken")


async def test_child_that_cannot_start_says_why():
    fake = FakeVenueProcess("binance-spot", balances={"USDT": "-5"})
    expected = r"(?s)did not start: .*free balance of USDT must not be negative"
    with pytest.raises(RuntimeError, match=expected):
        await fake.start()
