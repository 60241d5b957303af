"""Per-connection venue limits: symbols split over connections, paced subscribes, REST fan-out.

The fake venues enforce the limits themselves (Binance cuts a connection past 1024 streams or
5 inbound messages a second; Bybit refuses more than 10 topics a request on spot and more than
21,000 characters of topics a connection), so a client that breaks one is seen doing it.
Live tests shrink the limits on both sides to keep the symbol counts small.
"""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path

import numpy as np
import pytest
from tests.feeds.conftest import (
    CASES,
    SYNC_TIMEOUT,
    assert_matches_true_book,
    eventually,
    feed_config,
    running_feed,
)

from mmcore.feeds import Feed, make_protocol
from mmcore.feeds import binance as binance_wire_rules
from mmcore.feeds.binance import BinanceProtocol
from mmcore.feeds.bybit import BybitProtocol
from mmcore.tape import TapeWriter, replay_tape
from mmcore.testing.fake_exchange import BinanceWire, BybitWire


def test_binance_packs_512_symbols_a_connection_and_subscribes_past_the_url() -> None:
    symbols = tuple(f"S{i}USDT" for i in range(600))
    groups = make_protocol("binance-spot", symbols).connection_groups()
    assert [len(g) for g in groups] == [512, 88]
    assert sum(groups, ()) == symbols
    first = make_protocol("binance-spot", groups[0])
    url_streams = first.stream_url("wss://h").partition("streams=")[2].split("/")
    frames = [json.loads(f) for f in first.subscribe_frames()]
    assert len(url_streams) == 200
    assert all(f["method"] == "SUBSCRIBE" and len(f["params"]) <= 200 for f in frames)
    named = url_streams + [p for f in frames for p in f["params"]]
    assert len(named) == len(set(named)) == 1024, "every stream exactly once, 1024 at most"
    assert first.subscribe_interval_s >= 0.2, "at most 5 messages a second"


def test_bybit_splits_connections_by_topic_length_and_requests_by_ten() -> None:
    symbols = tuple(f"SYMBOL{i}USDT" for i in range(1000))
    bybit = make_protocol("bybit-spot", symbols, book_depth=50)
    groups = bybit.connection_groups()
    assert len(groups) > 1 and sum(groups, ()) == symbols
    for group in groups:
        frames = [json.loads(f) for f in bybit.for_symbols(group).subscribe_frames()]
        topics = [t for f in frames for t in f["args"]]
        assert all(len(f["args"]) <= 10 for f in frames)
        assert len(topics) == 2 * len(group)
        assert len(json.dumps(topics, separators=(",", ":"))) <= 21_000


def test_okx_subscribe_frames_stay_under_4kb_and_cover_every_channel() -> None:
    symbols = tuple(f"COIN{i}-USDT" for i in range(300))
    frames = make_protocol("okx", symbols).subscribe_frames()
    assert len(frames) > 1
    assert all(len(f.encode()) <= 4096 for f in frames)
    args = [(a["channel"], a["instId"]) for f in frames for a in json.loads(f)["args"]]
    assert sorted(args) == sorted((ch, s) for s in symbols for ch in ("books", "trades"))


async def test_binance_over_several_paced_connections(monkeypatch: pytest.MonkeyPatch) -> None:
    # 8 streams (4 symbols) a connection, 1 stream in the URL: 7 SUBSCRIBE frames each, more
    # than the venue accepts in one second unless they are paced
    monkeypatch.setattr(BinanceProtocol, "connection_capacity", 8)
    monkeypatch.setattr(binance_wire_rules, "_URL_STREAMS", 1)
    monkeypatch.setattr(binance_wire_rules, "_SUBSCRIBE_PARAMS", 1)
    symbols = tuple(f"C{i}USDT" for i in range(9))
    async with BinanceWire(list(symbols), max_streams=8) as fake:
        config = feed_config(CASES["binance-spot"], fake, symbols=symbols)
        async with running_feed(config) as feed:
            assert feed.connections == 3
            await assert_matches_true_book(feed, fake, symbols)
            await eventually(
                lambda: sorted(len(c.topics) for c in fake.connections) == [2, 8, 8],
                "every stream subscribed (the trade streams come last)",
            )
            assert feed.metrics.reconnects == 0
    assert fake.limit_violations == []


async def test_bybit_over_several_connections(monkeypatch: pytest.MonkeyPatch) -> None:
    symbols = tuple(f"C{i}USDT" for i in range(6))
    cost = make_protocol("bybit-spot", symbols).symbol_cost(symbols[0])
    monkeypatch.setattr(BybitProtocol, "connection_capacity", 2 * cost)
    async with BybitWire(list(symbols), max_args_chars=int(2 * cost)) as fake:
        config = feed_config(CASES["bybit-spot"], fake, symbols=symbols)
        async with running_feed(config) as feed:
            assert feed.connections == 3
            await assert_matches_true_book(feed, fake, symbols)
            assert feed.metrics.subscribe_errors == 0
    assert fake.limit_violations == []


async def _sync_time(symbols: tuple[str, ...], concurrency: int) -> tuple[float, int]:
    """Seconds from start to all synced, and the most snapshot calls the venue saw at once."""
    # a service time long against the client's own CPU per call, which no fan-out overlaps
    async with BinanceWire(list(symbols), rest_latency_s=0.2, interval=0.05) as fake:
        config = feed_config(
            CASES["binance-spot"],
            fake,
            symbols=symbols,
            snapshot_limit=100,
            rest_weight_per_minute=6000,
            rest_concurrency=concurrency,
        )
        started = time.monotonic()
        async with running_feed(config) as feed:
            assert await feed.wait_synced(3 * SYNC_TIMEOUT)
            took = time.monotonic() - started
    return took, fake.rest_peak_in_flight


async def test_snapshots_for_many_symbols_are_fetched_concurrently() -> None:
    symbols = tuple(f"C{i}USDT" for i in range(12))
    serial, serial_peak = await _sync_time(symbols, 1)
    fanned, peak = await _sync_time(symbols, 8)
    assert serial_peak == 1
    assert 1 < peak <= 8
    # same run, same machine: the ratio, not the absolute times (a loaded box is slow)
    assert fanned < 0.7 * serial, f"concurrent {fanned:.2f} s vs serial {serial:.2f} s"


async def test_a_failing_connection_stops_the_whole_split_feed(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    symbols = tuple(f"C{i}USDT" for i in range(3))
    cost = make_protocol("bybit-spot", symbols).symbol_cost(symbols[0])
    monkeypatch.setattr(BybitProtocol, "connection_capacity", cost)
    async with BybitWire(list(symbols)) as fake:
        feed = Feed(feed_config(CASES["bybit-spot"], fake, symbols=symbols))
        assert feed.connections == 3
        # the second connection's URL is one the websocket client refuses outright
        monkeypatch.setattr(
            feed._shards[1].protocol, "stream_url", lambda base: "ws://127.0.0.1:99999"
        )
        with pytest.raises(ValueError, match=r"[Pp]ort"):
            await asyncio.wait_for(feed.run(), 10)
        left = [
            t for t in asyncio.all_tasks() if "/mmcore/feeds/" in t.get_coro().cr_code.co_filename
        ]
        assert left == [], "the feed's other connections were left running"
        await eventually(lambda: not fake.connections, "the working connections closed")


async def test_a_split_feed_tape_replays_every_connection(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    symbols = tuple(f"C{i}USDT" for i in range(4))
    cost = make_protocol("bybit-spot", symbols).symbol_cost(symbols[0])
    monkeypatch.setattr(BybitProtocol, "connection_capacity", 2 * cost)
    tape = TapeWriter(tmp_path, "bybit-spot", symbols, rotate_bytes=4 * 1024)
    async with BybitWire(list(symbols)) as fake:
        config = feed_config(CASES["bybit-spot"], fake, symbols=symbols)
        async with running_feed(config, tape=tape) as feed:
            await assert_matches_true_book(feed, fake, symbols)
            fake.pause()
            live = {s: feed.book(s).bids(100) for s in symbols}  # type: ignore[union-attr]
    tape.close()
    replay = replay_tape(tmp_path)
    assert sorted(replay.epochs) == [1, 2], "one epoch per connection"
    for sym in symbols:
        session = replay.session_for(sym)
        assert session.is_synced(sym), sym
        np.testing.assert_array_equal(session.router.book(sym).bids(100), live[sym])
