"""The synthetic Binance diff stream for the benchmarks: deterministic, shaped as promised."""

from __future__ import annotations

import hashlib
import json
import re

import pytest

from mmcore.testing.synthetic import binance_diff_stream

N_EVENTS = 20_000
DECIMAL_8 = re.compile(r"^[0-9]+\.[0-9]{8}$")


@pytest.fixture(scope="module")
def stream() -> tuple[dict, list[dict]]:
    snapshot, events = binance_diff_stream(n_events=N_EVENTS)
    return json.loads(snapshot), [json.loads(e) for e in events]


def _digest(snapshot: bytes, events: list[bytes]) -> str:
    digest = hashlib.sha256(snapshot)
    for event in events:
        digest.update(event)
    return digest.hexdigest()


def test_same_arguments_give_the_same_bytes():
    first = binance_diff_stream(n_events=3_000, seed=3)
    second = binance_diff_stream(n_events=3_000, seed=3)
    assert first == second
    assert binance_diff_stream(n_events=3_000, seed=4) != first


def test_output_is_pinned_byte_for_byte():
    # Benchmark figures are comparable across commits only on the same stream. If the generator
    # is changed on purpose, update this digest and say so next to the new figures.
    snapshot, events = binance_diff_stream(n_events=2_000, levels=200, seed=7)
    assert _digest(snapshot, events) == (
        "f719253eca01ff64935a0571a1062680956921e63909198ca37091fc90b1c0d2"
    )


def test_a_longer_stream_starts_with_the_shorter_one():
    snapshot, events = binance_diff_stream(n_events=500)
    longer_snapshot, longer_events = binance_diff_stream(n_events=1_000)
    assert (longer_snapshot, longer_events[:500]) == (snapshot, events)


def test_snapshot_and_events_have_the_binance_shape(stream):
    snapshot, events = stream
    assert set(snapshot) == {"lastUpdateId", "bids", "asks"}
    assert len(snapshot["bids"]) == len(snapshot["asks"]) == 1000
    bid_prices = [float(p) for p, _ in snapshot["bids"]]
    ask_prices = [float(p) for p, _ in snapshot["asks"]]
    assert bid_prices == sorted(bid_prices, reverse=True)
    assert ask_prices == sorted(ask_prices)
    for event in events[:2_000]:
        assert set(event) == {"e", "E", "s", "U", "u", "b", "a"}
        assert (event["e"], event["s"]) == ("depthUpdate", "BTCUSDT")
        for price, qty in event["b"] + event["a"]:
            assert DECIMAL_8.match(price), price
            assert DECIMAL_8.match(qty), qty


def test_update_ids_are_contiguous(stream):
    snapshot, events = stream
    previous_u = snapshot["lastUpdateId"]
    previous_time = None
    for event in events:
        assert event["U"] == previous_u + 1
        assert event["u"] >= event["U"]
        previous_u = event["u"]
        assert previous_time is None or event["E"] > previous_time
        previous_time = event["E"]


def test_about_six_changes_per_event_each_price_once_per_side(stream):
    _, events = stream
    counts = [len(e["b"]) + len(e["a"]) for e in events]
    assert 5.7 <= sum(counts) / len(counts) <= 6.3
    assert min(counts) >= 1
    for event in events:
        for side in ("b", "a"):
            prices = [p for p, _ in event[side]]
            assert len(prices) == len(set(prices))


class _ReferenceBook:
    """Plain dicts with the best prices tracked; a side is rescanned only when its best goes."""

    def __init__(self, snapshot: dict) -> None:
        self.bids = {float(p): float(q) for p, q in snapshot["bids"]}
        self.asks = {float(p): float(q) for p, q in snapshot["asks"]}
        self.best_bid, self.best_ask = max(self.bids), min(self.asks)

    def apply(self, event: dict) -> None:
        self.best_bid = self._apply_side(self.bids, event["b"], self.best_bid, max)
        self.best_ask = self._apply_side(self.asks, event["a"], self.best_ask, min)

    @staticmethod
    def _apply_side(side: dict, levels: list, best: float, better) -> float:
        best_gone = False
        for p, q in levels:
            price, size = float(p), float(q)
            if size:
                side[price] = size
                best = better(best, price)
            else:
                best_gone |= side.pop(price, None) is not None and price == best
        return better(side) if best_gone else best


def test_book_never_crosses_keeps_near_1000_levels_and_the_mid_wanders(stream):
    snapshot, events = stream
    book = _ReferenceBook(snapshot)
    start_mid = (book.best_bid + book.best_ask) / 2
    mids = []
    deletes = near_touch = changes = 0
    for event in events:
        book.apply(event)
        assert book.best_bid < book.best_ask, f"crossed after update {event['u']}"
        assert 950 <= len(book.bids) <= 1100
        assert 950 <= len(book.asks) <= 1100
        mids.append((book.best_bid + book.best_ask) / 2)
        for p, q in event["b"] + event["a"]:
            changes += 1
            deletes += float(q) == 0
            near_touch += min(abs(float(p) - book.best_bid), abs(float(p) - book.best_ask)) <= 0.1
    assert 0.15 <= deletes / changes <= 0.45, "deletes and re-inserts are part of the pattern"
    assert near_touch / changes >= 0.6, "most changes land near the touch"
    assert max(mids) - min(mids) >= 0.05, "the mid wanders"
    assert all(abs(m - start_mid) / start_mid < 0.001 for m in mids), "but slowly"


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"n_events": -1}, "n_events"),
        ({"levels": 5}, "levels"),
        ({"changes_per_event": 0}, "changes_per_event"),
    ],
)
def test_bad_arguments_are_named(kwargs, message):
    with pytest.raises(ValueError, match=message):
        binance_diff_stream(**kwargs)
