"""VPIN through a real feed (issue 20 B3, first bullet): the session builds its router with the
``[feeds]`` VPIN settings, so after enough trades from the local fake exchange VPIN is finite."""

from __future__ import annotations

import math

import pytest

from mmcore.config import ConfigError
from mmcore.feeds import FeedConfig

from .conftest import SYNC_TIMEOUT, VenueCase, eventually, feed_config, running_feed


def vpin(feed, symbol: str) -> float:
    book = feed.book(symbol)
    return math.nan if book is None else book.features().vpin


async def test_vpin_is_finite_after_trades_with_the_derived_bucket(case: VenueCase) -> None:
    fake = case.fake()
    async with fake:
        config = feed_config(case, fake, vpin_calibration_trades=5)
        async with running_feed(config) as feed:
            assert await feed.wait_synced(SYNC_TIMEOUT)
            for sym in case.symbols:
                await eventually(lambda s=sym: math.isfinite(vpin(feed, s)), f"{sym} VPIN")
                assert 0.0 <= vpin(feed, sym) <= 1.0
                assert feed.book(sym).features().trade_count >= 5


async def test_a_configured_bucket_volume_is_used_per_symbol() -> None:
    from .conftest import CASES

    case = CASES["binance-spot"]
    fake = case.fake()
    async with fake:
        # A huge bucket for one symbol: never full in this test, so its VPIN stays NaN while the
        # other symbol derives its bucket and gets a finite VPIN.
        big, small = case.symbols
        config = feed_config(case, fake, vpin_bucket_volume={big: 1e12}, vpin_calibration_trades=5)
        async with running_feed(config) as feed:
            assert await feed.wait_synced(SYNC_TIMEOUT)
            await eventually(lambda: math.isfinite(vpin(feed, small)), f"{small} VPIN")
            assert feed.book(big).features().trade_count >= 1
            assert math.isnan(vpin(feed, big))


@pytest.mark.parametrize(
    ("volumes", "field"),
    [({"DOGEUSDT": 1.0}, 'feeds.vpin_bucket_volume."DOGEUSDT"'), ({"BTCUSDT": 0.0}, "BTCUSDT")],
)
def test_bucket_volumes_are_checked(volumes, field) -> None:
    with pytest.raises(ConfigError, match=field):
        FeedConfig(symbols=("BTCUSDT",), vpin_bucket_volume=volumes)
