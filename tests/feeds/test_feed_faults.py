"""Each venue x each fault: the feed recovers and its books equal the fake's true books."""

from __future__ import annotations

import asyncio

from tests.feeds.conftest import (
    SYNC_TIMEOUT,
    VenueCase,
    assert_matches_true_book,
    eventually,
    feed_config,
    running_feed,
)

from mmcore.feeds import Feed
from mmcore.testing.fake_exchange import BinanceWire


async def test_initial_sync_matches_true_book(case: VenueCase) -> None:
    async with case.fake() as fake, running_feed(feed_config(case, fake)) as feed:
        assert await feed.wait_synced(SYNC_TIMEOUT)
        await assert_matches_true_book(feed, fake, case.symbols)
        assert feed.metrics.malformed == 0
        await eventually(lambda: feed.metrics.trades > 0, "a trade")


async def test_dropped_message_resyncs_only_that_symbol(case: VenueCase) -> None:
    gapped, other = case.symbols
    async with case.fake() as fake, running_feed(feed_config(case, fake)) as feed:
        assert await feed.wait_synced(SYNC_TIMEOUT)
        unsafe_other = 0

        async def watch_other() -> None:
            nonlocal unsafe_other
            while True:
                unsafe_other += not feed.safe_to_quote(other)
                await asyncio.sleep(0.001)

        watcher = asyncio.create_task(watch_other())
        gaps_before = feed.metrics.gaps
        fake.drop_next(gapped)
        await eventually(lambda: feed.metrics.gaps > gaps_before, "the gap")
        await assert_matches_true_book(feed, fake, case.symbols)
        watcher.cancel()
        assert unsafe_other == 0, "the other symbol must stay quotable during the resync"
        assert feed.epoch == 1, "no reconnect: the same connection and books"
        assert feed.metrics.reconnects == 0


async def test_killed_connection_reconnects_and_resubscribes(case: VenueCase) -> None:
    async with case.fake() as fake, running_feed(feed_config(case, fake)) as feed:
        assert await feed.wait_synced(SYNC_TIMEOUT)
        assert fake.kill_connections() == 1
        await eventually(lambda: feed.metrics.reconnects == 1, "the reconnect")
        await assert_matches_true_book(feed, fake, case.symbols)
        assert feed.epoch == 2
        assert len(fake.connections) == 1


async def test_stalled_connection_trips_the_watchdog(case: VenueCase) -> None:
    async with case.fake() as fake:
        config = feed_config(case, fake, stale_timeout_s=0.4)
        async with running_feed(config) as feed:
            assert await feed.wait_synced(SYNC_TIMEOUT)
            fake.stall_connections()
            await eventually(lambda: feed.metrics.stale_disconnects == 1, "the watchdog")
            await assert_matches_true_book(feed, fake, case.symbols)
            assert feed.metrics.reconnects == 1


async def test_malformed_frames_are_counted_and_harmless(case: VenueCase) -> None:
    async with case.fake() as fake, running_feed(feed_config(case, fake)) as feed:
        assert await feed.wait_synced(SYNC_TIMEOUT)
        fake.send_malformed(2)
        await eventually(lambda: feed.metrics.malformed >= 2, "malformed frames")
        await assert_matches_true_book(feed, fake, case.symbols)
        assert feed.metrics.malformed == 2
        assert feed.metrics.reconnects == 0


async def test_snapshot_older_than_the_stream_is_refetched(case: VenueCase) -> None:
    fake = case.fake()
    fake.serve_old_snapshot(case.symbols[0])
    async with fake, running_feed(feed_config(case, fake)) as feed:
        # an in-band snapshot looks synced until the next delta exposes the gap
        await eventually(lambda: feed.metrics.gaps >= 1, "the stale snapshot to be detected")
        await assert_matches_true_book(feed, fake, case.symbols)


async def test_rest_rate_limit_is_honoured(binance_case: VenueCase) -> None:
    fake = binance_case.fake()
    fake.rate_limit(n_429=1, n_418=1, retry_after=0.15)
    async with fake, running_feed(feed_config(binance_case, fake)) as feed:
        await assert_matches_true_book(feed, fake, binance_case.symbols)
        assert feed.metrics.rest_rate_limited == 2
        assert fake.rest_violations == 0, "no call may be made while a Retry-After runs"
        statuses = [hit.status for hit in fake.rest_log]
        assert statuses[:2] == [429, 418]
        assert fake.rest_log[2].at - fake.rest_log[1].at >= 0.15


async def test_server_shutdown_is_make_before_break(binance_case: VenueCase) -> None:
    async with binance_case.fake() as fake, running_feed(feed_config(binance_case, fake)) as feed:
        assert isinstance(fake, BinanceWire)
        assert await feed.wait_synced(SYNC_TIMEOUT)
        unsafe = 0

        async def watch() -> None:
            nonlocal unsafe
            while True:
                unsafe += sum(not feed.safe_to_quote(s) for s in binance_case.symbols)
                await asyncio.sleep(0.001)

        watcher = asyncio.create_task(watch())
        fake.server_shutdown(grace=2.0)
        await eventually(lambda: feed.epoch == 2, "the rotation")
        await assert_matches_true_book(feed, fake, binance_case.symbols)
        watcher.cancel()
        assert unsafe == 0, "quoting must never see a hole during the rotation"
        assert feed.metrics.rotations == 1
        assert feed.metrics.reconnects == 0


async def test_connection_age_limit_rotates(binance_case: VenueCase) -> None:
    async with binance_case.fake() as fake:
        config = feed_config(binance_case, fake, max_connection_age_s=0.3)
        async with running_feed(config) as feed:
            assert await feed.wait_synced(SYNC_TIMEOUT)
            await eventually(lambda: feed.epoch == 2, "the rotation")
            await assert_matches_true_book(feed, fake, binance_case.symbols)
            assert feed.metrics.reconnects == 0


async def test_a_rotation_due_when_the_feed_stops_is_not_started(binance_case: VenueCase) -> None:
    """Stopping wins over a pending rotation: no new connection is opened on the way out (a
    rotation started then would open a socket the stopping feed never closes in time)."""
    async with binance_case.fake() as fake:
        feed = Feed(feed_config(binance_case, fake))
        task = asyncio.create_task(feed.run())
        assert await feed.wait_synced(SYNC_TIMEOUT)
        active = feed._shards[
            0
        ].active  # the watchdog's decision, made in the same tick as the stop
        assert active is not None
        active.rotate.set()
        feed.stop()
        await asyncio.wait_for(task, 5)
        assert feed.metrics.rotations == 0
