"""Every real Binance capture (spot, Binance.US, USD-M) syncs, applies with no gap, is never
crossed, and ends level-for-level equal to a reference book."""

from __future__ import annotations

import json

import pytest

from conftest import SAMPLES, ReferenceBook, assert_same_book, lines
from mmcore import ApplyStatus, BookRouter, BookState, OrderBook
from mmcore._core import synthetic_binance_stream

CAPTURES = {
    "spot_cryptofeed_2021-04-17": "binance-spot",
    "spot_cryptofeed_2021-08-14": "binance-spot",
    "spot_cryptofeed_2021-10-12": "binance-spot",
    "binance_us_spot_cryptofeed_2021-10-12": "binance-spot",
    "usdm_futures_cryptofeed_2021-07-22": "binance-usdm",
}

CASES = [
    (folder, venue, snap.name.split("_")[2])
    for folder, venue in CAPTURES.items()
    for snap in sorted((SAMPLES / "binance" / folder).glob("rest_depth_*.json"))
]


def replay(folder: str, venue: str, symbol: str, *, drop_after_sync: int | None = None):
    """Feeds the capture to a book, giving it the REST snapshot just before the first diff
    it does not cover (as if it arrived while diffs were being buffered)."""
    directory = SAMPLES / "binance" / folder
    snapshot = directory / f"rest_depth_{symbol}_limit1000.json"
    if not snapshot.exists():
        snapshot = next(directory.glob(f"rest_depth_{symbol}_limit*.json"))
    body = snapshot.read_bytes()
    lid = json.loads(body)["lastUpdateId"]
    book = OrderBook(symbol, venue)
    reference = ReferenceBook()
    snap = json.loads(body)
    reference.replace(snap["bids"], snap["asks"])
    synced = False
    statuses = []
    applied_diffs = 0
    for line in lines(directory / "stream.jsonl"):
        data = json.loads(line)["data"]
        is_diff = data.get("e") == "depthUpdate" and data["s"] == symbol
        if is_diff and not synced and data["u"] > lid:
            assert book.apply_snapshot(body) == ApplyStatus.APPLIED
            assert book.state == BookState.SYNCED
            synced = True
        if is_diff and synced and drop_after_sync is not None:
            drop_after_sync -= 1
            if drop_after_sync == -1:
                continue
        status = book.apply(line)
        statuses.append(status)
        if is_diff and synced and status == ApplyStatus.APPLIED:
            reference.update(data["b"], data["a"])
            applied_diffs += 1
        assert not book.is_crossed
    return book, reference, statuses, applied_diffs


@pytest.mark.parametrize(("folder", "venue", "symbol"), CASES)
def test_capture_syncs_without_gaps_and_matches_reference(folder, venue, symbol):
    book, reference, statuses, applied_diffs = replay(folder, venue, symbol)
    assert book.state == BookState.SYNCED
    assert book.gaps == 0 and book.malformed == 0
    assert ApplyStatus.GAP not in statuses
    assert book.counters()["snapshots"] == 1
    assert applied_diffs >= 1
    assert_same_book(book, reference)


@pytest.mark.parametrize(
    ("folder", "venue", "symbol"),
    [
        ("spot_cryptofeed_2021-10-12", "binance-spot", "NKNUSDT"),
        ("usdm_futures_cryptofeed_2021-07-22", "binance-usdm", "SUSHIUSDT"),
    ],
)
def test_dropped_diff_is_a_gap_then_a_fresh_snapshot_resyncs(folder, venue, symbol):
    directory = SAMPLES / "binance" / folder
    body = next(directory.glob(f"rest_depth_{symbol}_*.json")).read_bytes()
    lid = json.loads(body)["lastUpdateId"]
    diffs = [
        line
        for line in lines(directory / "stream.jsonl")
        if json.loads(line)["data"].get("e") == "depthUpdate"
        and json.loads(line)["data"]["s"] == symbol
    ]
    kept = [d for d in diffs if json.loads(d)["data"]["u"] > lid]
    book = OrderBook(symbol, venue)
    reference = ReferenceBook()
    snap = json.loads(body)
    reference.replace(snap["bids"], snap["asks"])
    assert book.apply_snapshot(body) == ApplyStatus.APPLIED
    for line in kept[:10]:
        assert book.apply(line) == ApplyStatus.APPLIED
        data = json.loads(line)["data"]
        reference.update(data["b"], data["a"])
    # kept[10] is lost on the wire.
    assert book.apply(kept[11]) == ApplyStatus.GAP
    assert book.state == BookState.UNSYNCED and book.gaps == 1
    assert book.best_bid() is None
    for line in kept[12:20]:
        assert book.apply(line) == ApplyStatus.BUFFERED
    # The old snapshot cannot bridge the hole.
    assert book.apply_snapshot(body) == ApplyStatus.SNAPSHOT_TOO_OLD
    assert book.state == BookState.UNSYNCED
    # A snapshot taken after the lost diff resyncs and replays the buffer.
    for line in kept[10:14]:
        data = json.loads(line)["data"]
        reference.update(data["b"], data["a"])
    fresh = reference.binance_snapshot(json.loads(kept[13])["data"]["u"])
    assert book.apply_snapshot(fresh) == ApplyStatus.APPLIED
    assert book.state == BookState.SYNCED
    for line in kept[14:20]:
        data = json.loads(line)["data"]
        reference.update(data["b"], data["a"])
    for line in kept[20:]:
        assert book.apply(line) == ApplyStatus.APPLIED
        data = json.loads(line)["data"]
        reference.update(data["b"], data["a"])
    assert_same_book(book, reference)


def test_router_routes_combined_stream_by_symbol():
    directory = SAMPLES / "binance" / "spot_cryptofeed_2021-10-12"
    symbols = ["NKNUSDT", "LRCBTC", "BLZETH", "RUNEEUR"]
    router = BookRouter("binance-spot", symbols)
    bodies = {s: next(directory.glob(f"rest_depth_{s}_*.json")).read_bytes() for s in symbols}
    lids = {s: json.loads(b)["lastUpdateId"] for s, b in bodies.items()}
    synced = set()
    for line in lines(directory / "stream.jsonl"):
        data = json.loads(line)["data"]
        symbol = data.get("s")
        if data.get("e") == "depthUpdate" and symbol not in synced and data["u"] > lids[symbol]:
            assert router.apply_snapshot(symbol, bodies[symbol]) == ApplyStatus.APPLIED
            synced.add(symbol)
        routed, status = router.apply(line)
        if data.get("e") == "depthUpdate":
            assert routed == symbol
            assert status in (ApplyStatus.APPLIED, ApplyStatus.BUFFERED)
        elif data.get("e") == "kline":
            assert (routed, status) == (None, ApplyStatus.IGNORED)
    for symbol in symbols:
        book = router.book(symbol)
        assert book is router.book(symbol.lower())
        assert book.state == BookState.SYNCED and book.gaps == 0


def test_trades_feed_flow_features():
    book = OrderBook("ETHUSDT", "binance-spot")
    payload = (SAMPLES / "binance" / "nautilus_ws_spot_trade_ETHUSDT_2021-12-12.json").read_bytes()
    assert book.apply(payload) == ApplyStatus.TRADE
    features = book.features()
    # m = true: the buyer was the maker, so the aggressor sold.
    assert features.sell_volume == pytest.approx(0.4387)
    assert features.buy_volume == 0
    assert features.trade_count == 1
    assert book.last_event_time_ms == 1639351062243


def test_a_5000_level_book_stays_under_one_megabyte():
    snapshot, events = synthetic_binance_stream(events=2000, levels=5000, changes=6, seed=3)
    book = OrderBook("BTCUSDT", "binance-spot")
    assert book.apply_snapshot(snapshot) == ApplyStatus.APPLIED
    assert book.depth == (5000, 5000)
    statuses, _ = book.replay(events)
    assert set(statuses.tolist()) == {int(ApplyStatus.APPLIED)}
    # Levels, the reusable decode scratch (still sized for the snapshot) and the buffer.
    assert book.heap_bytes < 1_000_000
