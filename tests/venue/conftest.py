"""Fixtures for the fake-venue tests: a started fake and a ccxt exchange pointed at it."""

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


async def _started(venue: FakeVenue) -> AsyncIterator[tuple[FakeVenue, Any]]:
    async with venue:
        exchange = ccxt_exchange(venue, timeout_ms=1500)
        try:
            yield venue, exchange
        finally:
            await exchange.close()


@pytest.fixture
async def spot() -> AsyncIterator[tuple[FakeBinanceSpot, Any]]:
    """A Binance spot fake with 10 000 USDT and 1 BTC, BTCUSDT quoted 100000/100001."""
    venue = FakeBinanceSpot()
    venue.seed_balance("USDT", "10000")
    venue.seed_balance("BTC", "1")
    venue.set_quote("BTCUSDT", "100000", "100001")
    async for pair in _started(venue):
        yield pair  # type: ignore[misc]


@pytest.fixture
async def usdm() -> AsyncIterator[tuple[FakeBinanceUsdm, Any]]:
    """A Binance USD-M fake with 10 000 USDT, BTCUSDT quoted 100000/100000.1."""
    venue = FakeBinanceUsdm()
    venue.seed_balance("USDT", "10000")
    venue.set_quote("BTCUSDT", "100000", "100000.1")
    async for pair in _started(venue):
        yield pair  # type: ignore[misc]


@pytest.fixture
async def bybit_spot() -> AsyncIterator[tuple[FakeBybit, Any]]:
    """A Bybit v5 spot fake with 10 000 USDT and 1 BTC, BTCUSDT quoted 100000/100000.01."""
    venue = FakeBybit("spot")
    venue.seed_balance("USDT", "10000")
    venue.seed_balance("BTC", "1")
    venue.set_quote("BTCUSDT", "100000", "100000.01")
    async for pair in _started(venue):
        yield pair  # type: ignore[misc]


@pytest.fixture
async def bybit_linear() -> AsyncIterator[tuple[FakeBybit, Any]]:
    """A Bybit v5 linear fake with 10 000 USDT, BTCUSDT quoted 100000/100000.1, DCP in ms."""
    venue = FakeBybit("linear", dcp_second_s=0.05)
    venue.seed_balance("USDT", "10000")
    venue.set_quote("BTCUSDT", "100000", "100000.1")
    async for pair in _started(venue):
        yield pair  # type: ignore[misc]
