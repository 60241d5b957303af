"""Shared fixtures for the feed tests: fake venues on loopback and a running Feed against them."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pytest

from mmcore.feeds import Feed, FeedConfig
from mmcore.testing.fake_exchange import BinanceWire, BybitWire, OkxWire, WireVenue


@dataclass(frozen=True)
class VenueCase:
    """How to build the fake and the feed config of one venue."""

    venue: str
    fake_cls: type[WireVenue]
    fake_kwargs: dict[str, Any]
    symbols: tuple[str, ...]

    def fake(self, **kwargs: Any) -> WireVenue:
        return self.fake_cls(list(self.symbols), **{**self.fake_kwargs, **kwargs})


CASES = {
    "binance-spot": VenueCase("binance-spot", BinanceWire, {}, ("BTCUSDT", "ETHUSDT")),
    "binance-usdm": VenueCase(
        "binance-usdm", BinanceWire, {"futures": True}, ("BTCUSDT", "ETHUSDT")
    ),
    "bybit-spot": VenueCase("bybit-spot", BybitWire, {"category": "spot"}, ("BTCUSDT", "ETHUSDT")),
    "bybit-linear": VenueCase(
        "bybit-linear", BybitWire, {"category": "linear"}, ("BTCUSDT", "ETHUSDT")
    ),
    "okx": VenueCase("okx", OkxWire, {}, ("BTC-USDT", "ETH-USDT")),
}
BINANCE = ("binance-spot", "binance-usdm")
IN_BAND = ("bybit-spot", "bybit-linear", "okx")

# short timings so faults recover in well under a second
FAST = {
    "heartbeat_interval_s": 0.2,
    # long: a loaded machine's scheduling hiccup must not look like a dead feed to the tests
    # that assert no reconnect; the watchdog test sets its own short one
    "stale_timeout_s": 10.0,
    "quote_stale_after_s": 1.0,
    "backoff_base_s": 0.01,
    "backoff_max_s": 0.05,
    "resync_timeout_s": 0.5,
    "rotate_sync_timeout_s": 2.0,
    "close_timeout_s": 0.2,
    "connect_timeout_s": 2.0,
    "rest_timeout_s": 2.0,
    "rest_ban_default_s": 0.2,
}
SYNC_TIMEOUT = 5.0


def feed_config(case: VenueCase, fake: WireVenue, **overrides: Any) -> FeedConfig:
    """A FeedConfig pointing at ``fake`` with fast timings."""
    return FeedConfig(
        venue=case.venue,
        symbols=case.symbols,
        ws_url=fake.ws_url,
        rest_url=fake.rest_url,
        **{**FAST, **overrides},
    )


@contextlib.asynccontextmanager
async def running_feed(config: FeedConfig, **kwargs: Any) -> AsyncIterator[Feed]:
    """Run a Feed in the background for the duration of the block."""
    feed = Feed(config, **kwargs)
    task = asyncio.create_task(feed.run())
    try:
        yield feed
    finally:
        feed.stop()
        await asyncio.wait_for(task, 5)


async def assert_matches_true_book(feed: Feed, fake: WireVenue, symbols: tuple[str, ...]) -> None:
    """Wait for sync, pause the flow, let the feed catch up, then compare every level."""
    assert await feed.wait_synced(SYNC_TIMEOUT), [feed.health(s) for s in symbols]
    fake.pause()
    try:
        for sym in symbols:
            target = fake.last_update_id(sym)
            deadline = asyncio.get_running_loop().time() + SYNC_TIMEOUT
            while True:
                book = feed.book(sym)
                if feed.safe_to_quote(sym) and book is not None and book.last_update_id == target:
                    break
                assert asyncio.get_running_loop().time() < deadline, (
                    f"{sym}: not caught up: health={feed.health(sym)} "
                    f"local={book and book.last_update_id} true={target}"
                )
                await asyncio.sleep(0.005)
            for side in ("bids", "asks"):
                local = getattr(book, side)(10_000)
                true = np.array(fake.true_levels(sym, side), dtype=float).reshape(-1, 2)
                assert local.shape == true.shape, f"{sym} {side}: {local.shape} vs {true.shape}"
                np.testing.assert_allclose(local, true, rtol=1e-12, err_msg=f"{sym} {side}")
    finally:
        fake.resume()


async def eventually(
    condition: Callable[[], bool], what: str, timeout: float = SYNC_TIMEOUT
) -> None:
    """Wait until ``condition()`` holds; fail naming ``what`` after ``timeout`` seconds."""
    deadline = asyncio.get_running_loop().time() + timeout
    while not condition():
        assert asyncio.get_running_loop().time() < deadline, f"timed out waiting for {what}"
        await asyncio.sleep(0.002)


@pytest.fixture(params=list(CASES))
def case(request: pytest.FixtureRequest) -> VenueCase:
    """Every venue."""
    return CASES[request.param]


@pytest.fixture(params=BINANCE)
def binance_case(request: pytest.FixtureRequest) -> VenueCase:
    """Binance spot and USD-M."""
    return CASES[request.param]


@pytest.fixture(params=IN_BAND)
def in_band_case(request: pytest.FixtureRequest) -> VenueCase:
    """Venues that resync by resubscribing (Bybit, OKX)."""
    return CASES[request.param]
