"""Feature values on small hand-made books, against formulas worked out by hand."""

from __future__ import annotations

import json
import math

import pytest

from mmcore import FEATURE_NAMES, ApplyStatus, OrderBook


def snapshot(bids, asks, lid=10):
    return json.dumps({"lastUpdateId": lid, "bids": bids, "asks": asks})


def diff(u, bids=(), asks=()):
    return json.dumps(
        {"e": "depthUpdate", "E": 1000 + u, "s": "X", "U": u, "u": u, "b": bids, "a": asks}
    )


@pytest.fixture
def book():
    b = OrderBook("X", "binance-spot", vol_halflife=1.0, vpin_bucket_volume=10.0, vpin_buckets=2)
    bids = [["100.00", "3"], ["99.90", "2"], ["99.50", "5"]]
    asks = [["100.10", "1"], ["100.20", "4"], ["101.00", "6"]]
    assert b.apply_snapshot(snapshot(bids, asks)) == ApplyStatus.APPLIED
    return b


def test_touch_spread_microprice_and_imbalance(book):
    f = book.features(depth=2)
    assert (f.best_bid, f.bid_size, f.best_ask, f.ask_size) == (100.0, 3.0, 100.1, 1.0)
    assert f.mid == pytest.approx(100.05)
    assert f.spread == pytest.approx(0.1)
    assert f.spread_bps == pytest.approx(0.1 / 100.05 * 1e4)
    # Size-weighted: the small ask pulls the price towards the ask.
    assert f.microprice == pytest.approx((100.0 * 1 + 100.1 * 3) / 4)
    assert (f.bid_depth, f.ask_depth) == (5.0, 5.0)
    assert f.imbalance == 0.0
    f3 = book.features(depth=3)
    assert f3.imbalance == pytest.approx((10 - 11) / 21)
    assert math.isnan(f3.bid_band_depth)


def test_depth_bands_around_mid(book):
    # ±30 bps of 100.05 is [99.75, 100.35]: bids 100.00 and 99.90, asks 100.10 and 100.20.
    f = book.features(band_bps=30.0)
    assert (f.bid_band_depth, f.ask_band_depth) == (5.0, 5.0)
    wide = book.features(band_bps=200.0)
    assert (wide.bid_band_depth, wide.ask_band_depth) == (10.0, 11.0)


def test_order_flow_imbalance_and_volatility(book):
    # Bid size grows at the same price: e = +(4 - 3); ask unchanged: 0.
    assert book.apply(diff(11, bids=[["100.00", "4"]])) == ApplyStatus.APPLIED
    assert book.features().ofi == pytest.approx(1.0)
    # Ask improves to 100.05 (size 2): e = -2 (new ask size at a lower price).
    assert book.apply(diff(12, asks=[["100.05", "2"]])) == ApplyStatus.APPLIED
    f = book.features()
    assert f.ofi == pytest.approx(-2.0)
    assert f.ofi_total == pytest.approx(-1.0)
    # Returns so far: 0 (first diff) then ln(100.025 / 100.05); half-life 1 update means
    # alpha 0.5, so the variance is 0.5 * r^2.
    r = math.log(100.025 / 100.05)
    assert f.volatility_bps == pytest.approx(math.sqrt(0.5 * r * r) * 1e4)


def test_trades_make_aggressor_volumes_and_vpin(book):
    def trade(q, buyer_maker):
        return json.dumps(
            {
                "e": "trade",
                "E": 1,
                "s": "X",
                "t": 1,
                "p": "100.05",
                "q": q,
                "T": 2,
                "m": buyer_maker,
            }
        )

    assert book.apply(trade("10", False)) == ApplyStatus.TRADE  # buy aggressor: bucket 1 = 1.0
    assert book.apply(trade("5", True)) == ApplyStatus.TRADE
    assert book.apply(trade("5", False)) == ApplyStatus.TRADE  # bucket 2: 5/5 -> 0.0
    f = book.features()
    assert (f.buy_volume, f.sell_volume, f.trade_count) == (15.0, 5.0, 3.0)
    assert f.vpin == pytest.approx(0.5)


def test_crossed_book_is_flagged_and_counted(book):
    assert book.apply(diff(11, bids=[["100.20", "1"]])) == ApplyStatus.APPLIED
    assert book.is_crossed
    assert book.features().crossed == 1.0
    assert book.counters()["crossed"] == 1


def test_features_record_and_matrix_share_the_columns(book):
    f = book.features()
    assert list(f.as_dict()) == list(FEATURE_NAMES)
    statuses, matrix = book.replay([diff(11, bids=[["99.95", "1"]]), b"{bad"])
    assert statuses.tolist() == [int(ApplyStatus.APPLIED), int(ApplyStatus.MALFORMED)]
    assert matrix.shape == (2, len(FEATURE_NAMES))
    assert matrix[0, FEATURE_NAMES.index("best_bid")] == 100.0
    assert book.malformed == 1


def test_a_record_the_caller_holds_keeps_its_values(book):
    # The book rewrites its last record in place only once nobody else holds it.
    before = book.features()
    assert book.apply(diff(11, bids=[["100.05", "7"]])) == ApplyStatus.APPLIED
    after = book.features()
    assert after is not before
    assert (before.best_bid, before.bid_size) == (100.0, 3.0)
    assert (after.best_bid, after.bid_size) == (100.05, 7.0)
    other = book.features(depth=3)
    assert (after.best_bid, after.bid_depth) == (100.05, 7.0 + 3.0 + 2.0 + 5.0)
    assert other.bid_depth == 7.0 + 3.0 + 2.0


def test_a_dropped_record_is_rewritten_instead_of_reallocated(book):
    first = book.features()
    first_id = id(first)
    del first
    # Holds a same-sized object: had the dropped record been freed, this would take its memory
    # and the next record would live elsewhere.
    blocker = OrderBook("Y", "binance-spot").features()
    assert book.apply(diff(11, asks=[["100.10", "9"]])) == ApplyStatus.APPLIED
    second = book.features()
    assert id(second) == first_id
    assert second.ask_size == 9.0
    assert math.isnan(blocker.best_bid)
    with pytest.raises(AttributeError):
        second.mid = 1.0  # read-only attributes, as when the record was frozen
