"""Feed behaviour beyond single faults: heartbeats, late snapshots, slow consumers."""

from __future__ import annotations

import asyncio

from tests.feeds.conftest import (
    CASES,
    SYNC_TIMEOUT,
    VenueCase,
    assert_matches_true_book,
    eventually,
    feed_config,
    running_feed,
)

from mmcore.feeds.health import RateMeter
from mmcore.testing.fake_exchange import OkxWire


async def test_heartbeats_keep_a_quiet_connection_alive(in_band_case: VenueCase) -> None:
    async with in_band_case.fake() as fake:
        config = feed_config(in_band_case, fake, heartbeat_interval_s=0.05, stale_timeout_s=0.5)
        async with running_feed(config) as feed:
            assert await feed.wait_synced(SYNC_TIMEOUT)
            fake.pause()  # no market data at all: only heartbeat replies arrive
            conn = fake.connections[0]
            ping = "ping" if in_band_case.venue == "okx" else '{"op":"ping"}'

            def pings() -> int:
                return sum(frame == ping for frame in conn.received)

            # 20 heartbeats: a second of silence from the market, twice the stale timeout
            await eventually(lambda: pings() >= 20, "twenty heartbeats")
            assert feed.metrics.stale_disconnects == 0
            assert feed.epoch == 1
            fake.resume()
            await assert_matches_true_book(feed, fake, in_band_case.symbols)


async def test_late_snapshot_from_an_old_connection_is_discarded(binance_case: VenueCase) -> None:
    fake = binance_case.fake()
    fake.delay_rest(0.3)
    async with fake, running_feed(feed_config(binance_case, fake)) as feed:
        await eventually(lambda: fake.rest_started >= 1, "the first snapshot request")
        fake.kill_connections()  # the snapshot is still in flight for epoch 1
        await eventually(lambda: feed.metrics.late_snapshots_dropped >= 1, "the late snapshot")
        assert feed.epoch == 2
        await assert_matches_true_book(feed, fake, binance_case.symbols)


async def test_slow_consumer_is_coalesced_and_bounded(case: VenueCase) -> None:
    async with case.fake(interval=0.001) as fake, running_feed(feed_config(case, fake)) as feed:
        assert await feed.wait_synced(SYNC_TIMEOUT)
        for _ in range(5):
            changed = await asyncio.wait_for(feed.updates.wait(), SYNC_TIMEOUT)
            assert 1 <= len(changed) <= len(case.symbols)
            await asyncio.sleep(0.05)  # a consumer that falls behind the feed
            assert len(feed.updates) <= len(case.symbols)
        assert feed.metrics.coalesced > 0
        await assert_matches_true_book(feed, fake, case.symbols)


async def test_health_reports_unknown_symbols_and_disconnection(case: VenueCase) -> None:
    async with case.fake() as fake:
        config = feed_config(case, fake)
        async with running_feed(config) as feed:
            assert await feed.wait_synced(SYNC_TIMEOUT)
            health = feed.health(case.symbols[0])
            assert health.safe_to_quote and health.age_s is not None and health.age_s >= 0
            try:
                feed.health("NOPE")
            except KeyError as exc:
                assert "NOPE" in str(exc)
            else:
                raise AssertionError("an unknown symbol must raise KeyError")
        assert not feed.safe_to_quote(case.symbols[0]), "a stopped feed is never safe"


async def test_okx_checksum_mismatch_resubscribes_that_symbol() -> None:
    case = CASES["okx"]
    async with case.fake() as fake, running_feed(feed_config(case, fake)) as feed:
        assert isinstance(fake, OkxWire)
        assert await feed.wait_synced(SYNC_TIMEOUT)
        fake.corrupt_checksum(case.symbols[0])
        await eventually(lambda: feed.metrics.gaps >= 1, "the checksum mismatch")
        await assert_matches_true_book(feed, fake, case.symbols)
        book = feed.book(case.symbols[0])
        assert book is not None and book.counters()["checksum_errors"] == 1
        assert feed.metrics.reconnects == 0
        unsub = [f for f in fake.connections[0].received if '"unsubscribe"' in f]
        assert len(unsub) == 1 and case.symbols[0] in unsub[0]


async def test_okx_without_checksums_syncs_on_sequence_ids() -> None:
    case = CASES["okx"]
    async with case.fake(checksum_zero=True) as fake, running_feed(feed_config(case, fake)) as feed:
        assert await feed.wait_synced(SYNC_TIMEOUT)
        fake.drop_next(case.symbols[1])
        await eventually(lambda: feed.metrics.gaps >= 1, "the gap")
        await assert_matches_true_book(feed, fake, case.symbols)


async def test_metrics_report_latency_and_rates(case: VenueCase) -> None:
    async with case.fake() as fake, running_feed(feed_config(case, fake)) as feed:
        meter = RateMeter(feed.metrics, 0.0)
        await eventually(lambda: len(feed.metrics.latency_ms) >= 3, "latency samples")
        snap = feed.metrics.snapshot()
        assert 0 <= snap["latency_p50_ms"] <= snap["latency_p99_ms"] < 5_000
        msgs_s, bytes_s = meter.rates(1.0)
        assert msgs_s == feed.metrics.msgs > 0
        assert bytes_s == feed.metrics.bytes > msgs_s


async def test_okx_without_in_band_snapshots_bootstraps_and_resyncs_from_rest() -> None:
    case = CASES["okx"]
    fake = case.fake(in_band_snapshots=False, checksum_zero=True)
    async with fake, running_feed(feed_config(case, fake)) as feed:
        await assert_matches_true_book(feed, fake, case.symbols)
        calls = len(fake.rest_log)
        assert calls >= len(case.symbols)
        fake.drop_next(case.symbols[0])
        await eventually(lambda: feed.metrics.gaps >= 1, "the gap")
        await assert_matches_true_book(feed, fake, case.symbols)
        assert [hit.query["instId"] for hit in fake.rest_log[calls:]] == [case.symbols[0]]
        assert feed.metrics.reconnects == 0


async def test_binance_ping_frames_are_answered(binance_case: VenueCase) -> None:
    fake = binance_case.fake(ping_interval=0.02)
    async with fake, running_feed(feed_config(binance_case, fake)) as feed:
        assert await feed.wait_synced(SYNC_TIMEOUT)
        server_side = fake.connections[0].ws
        await eventually(lambda: server_side.latency > 0, "a pong for the server's ping")
        await assert_matches_true_book(feed, fake, binance_case.symbols)
        assert feed.epoch == 1, "answered pings keep the connection"
