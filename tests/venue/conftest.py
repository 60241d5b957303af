"""Fixtures for the fake-venue tests: a started, funded fake and a ccxt exchange pointed at it."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable
from typing import Any, TypeVar

import pytest

from mmcore.testing.fake_venue import (
    FakeBinanceSpot,
    FakeBinanceUsdm,
    FakeBybit,
    FakeVenue,
    ccxt_exchange,
)

T = TypeVar("T")


async def within(awaitable: Awaitable[T], seconds: float = 3.0) -> T:
    """Await with a deadline, so a missing stream event fails the test instead of hanging."""
    return await asyncio.wait_for(awaitable, seconds)


async def _started(venue: FakeVenue, ask: str) -> AsyncIterator[tuple[Any, Any]]:
    """Fund ``venue`` (10 000 USDT, plus 1 BTC on spot), quote BTCUSDT 100000/``ask``, start
    it and yield it with a ccxt exchange pointed at it."""
    venue.seed_balance("USDT", "10000")
    if venue.kind == "spot":
        venue.seed_balance("BTC", "1")
    venue.set_quote("BTCUSDT", "100000", ask)
    async with venue:
        exchange = ccxt_exchange(venue, timeout_ms=1500)
        try:
            yield venue, exchange
        finally:
            await exchange.close()


@pytest.fixture
async def spot() -> AsyncIterator[tuple[FakeBinanceSpot, Any]]:
    """Binance spot: 10 000 USDT and 1 BTC, BTCUSDT quoted 100000/100001."""
    async for pair in _started(FakeBinanceSpot(), "100001"):
        yield pair


@pytest.fixture
async def usdm() -> AsyncIterator[tuple[FakeBinanceUsdm, Any]]:
    """Binance USD-M: 10 000 USDT, BTCUSDT quoted 100000/100000.1."""
    async for pair in _started(FakeBinanceUsdm(), "100000.1"):
        yield pair


@pytest.fixture
async def bybit_spot() -> AsyncIterator[tuple[FakeBybit, Any]]:
    """Bybit v5 spot: 10 000 USDT and 1 BTC, BTCUSDT quoted 100000/100000.01."""
    async for pair in _started(FakeBybit("spot"), "100000.01"):
        yield pair


@pytest.fixture
async def bybit_linear() -> AsyncIterator[tuple[FakeBybit, Any]]:
    """Bybit v5 linear: 10 000 USDT, BTCUSDT quoted 100000/100000.1; a DCP second is 50 ms."""
    async for pair in _started(FakeBybit("linear", dcp_second_s=0.05), "100000.1"):
        yield pair
