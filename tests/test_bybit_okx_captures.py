"""Real Bybit v5 and OKX v5 captures: snapshots reset, deltas apply in sequence, Bybit books
stay at N levels, OKX checksums match, and a lost message is detected."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest

from conftest import SAMPLES, ReferenceBook, assert_same_book, lines
from mmcore import ApplyStatus, BookRouter, BookState, OrderBook

BYBIT = SAMPLES / "bybit"
OKX = SAMPLES / "okx"


def bybit_replay(book, payloads, reference):
    statuses = []
    for line in payloads:
        status = book.apply(line)
        statuses.append(status)
        message = json.loads(line)
        if status == ApplyStatus.APPLIED:
            data = message["data"]
            if message["type"] == "snapshot":
                reference.replace(data["b"], data["a"])
            else:
                reference.update(data["b"], data["a"])
        assert not book.is_crossed
    return statuses


def test_bybit_linear_orderbook500_stays_at_500_levels():
    payloads = lines(BYBIT / "linear_XRPUSDT_orderbook500_2024-12-01.jsonl")
    book = OrderBook("XRPUSDT", "bybit-linear")
    reference = ReferenceBook()
    statuses = bybit_replay(book, payloads, reference)
    assert statuses == [ApplyStatus.APPLIED] * 50
    assert book.depth == (500, 500)
    assert book.last_update_id == 20254918
    assert book.gaps == 0
    assert_same_book(book, reference)


def test_bybit_spot_orderbook200_and_level1_snapshots():
    book = OrderBook("BTCUSDT", "bybit-spot")
    reference = ReferenceBook()
    statuses = bybit_replay(
        book, lines(BYBIT / "spot_BTCUSDT_orderbook200_2023-12-24.jsonl"), reference
    )
    assert statuses == [ApplyStatus.IGNORED, ApplyStatus.APPLIED, ApplyStatus.APPLIED]
    assert max(book.depth) <= 200
    assert_same_book(book, reference)
    # Level-1 books push snapshots only; each one resets the book.
    top = OrderBook("BTCUSDT", "bybit-spot")
    statuses = bybit_replay(
        top, lines(BYBIT / "spot_BTCUSDT_orderbook1_2026-08-13_ccxt.jsonl"), ReferenceBook()
    )
    assert statuses[1:] == [ApplyStatus.APPLIED, ApplyStatus.APPLIED]
    assert top.depth == (1, 1)


def test_bybit_lost_delta_is_a_gap_and_the_next_snapshot_resyncs():
    payloads = lines(BYBIT / "linear_XRPUSDT_orderbook500_2024-12-01.jsonl")
    book = OrderBook("XRPUSDT", "bybit-linear")
    for line in payloads[:10]:
        assert book.apply(line) == ApplyStatus.APPLIED
    assert book.apply(payloads[11]) == ApplyStatus.GAP
    assert book.state == BookState.UNSYNCED
    assert book.apply(payloads[12]) == ApplyStatus.BUFFERED
    # After a resubscribe Bybit sends a fresh snapshot: build it from the true state at u(12).
    reference = ReferenceBook()
    bybit_replay(OrderBook("XRPUSDT", "bybit-linear"), payloads[:13], reference)
    message = json.loads(payloads[12])
    message["type"] = "snapshot"
    message["data"]["b"] = [[str(p), str(q)] for p, q in sorted(reference.bids.items())]
    message["data"]["a"] = [[str(p), str(q)] for p, q in sorted(reference.asks.items())]
    assert book.apply(json.dumps(message)) == ApplyStatus.APPLIED
    assert book.state == BookState.SYNCED
    for line in payloads[13:]:
        assert book.apply(line) == ApplyStatus.APPLIED
        data = json.loads(line)["data"]
        reference.update(data["b"], data["a"])
    assert_same_book(book, reference)


def test_bybit_u_equal_1_is_a_restart_snapshot():
    book = OrderBook("XRPUSDT", "bybit-linear")
    for line in lines(BYBIT / "linear_XRPUSDT_orderbook500_2024-12-01.jsonl")[:3]:
        book.apply(line)
    restart = {
        "topic": "orderbook.50.XRPUSDT",
        "type": "delta",
        "ts": 1,
        "data": {"s": "XRPUSDT", "b": [["1.5", "10"]], "a": [["1.6", "20"]], "u": 1},
    }
    assert book.apply(json.dumps(restart)) == ApplyStatus.APPLIED
    assert book.depth == (1, 1) and book.last_update_id == 1


@pytest.mark.parametrize(
    "name",
    [
        "linear_BTCUSDT_publicTrade_2026-08-12_ccxt.jsonl",
        "spot_BTCUSDT_publicTrade_2026-08-12_ccxt.jsonl",
        "spot_BTCUSDT_publicTrade_2023-12-24.jsonl",
    ],
)
def test_bybit_public_trades_feed_aggressor_volumes(name):
    book = OrderBook("BTCUSDT", "bybit-spot")
    buy = sell = Decimal(0)
    count = 0
    for line in lines(BYBIT / name):
        message = json.loads(line)
        status = book.apply(line)
        if "topic" not in message:
            assert status == ApplyStatus.IGNORED
            continue
        assert status == ApplyStatus.TRADE
        for trade in message["data"]:
            count += 1
            if trade["S"] == "Buy":
                buy += Decimal(trade["v"])
            else:
                sell += Decimal(trade["v"])
    features = book.features()
    assert features.buy_volume == pytest.approx(float(buy))
    assert features.sell_volume == pytest.approx(float(sell))
    assert features.trade_count == count


@pytest.mark.parametrize(
    "capture", ["books_cryptofeed_2022-05-13", "books-l2-tbt_cryptofeed_2022-02-27"]
)
def test_okx_captures_checksums_match_and_books_track_reference(capture):
    payloads = lines(OKX / capture / "stream.jsonl")
    inst_ids = sorted(
        {
            json.loads(p)["arg"]["instId"]
            for p in payloads
            if json.loads(p).get("arg", {}).get("channel", "").startswith("books")
        }
    )
    router = BookRouter("okx", inst_ids)
    references = {i: ReferenceBook() for i in inst_ids}
    books_applied = 0
    for line in payloads:
        message = json.loads(line)
        routed, status = router.apply(line)
        channel = message.get("arg", {}).get("channel", "")
        if "event" in message:
            assert (routed, status) == (None, ApplyStatus.IGNORED)
        elif channel.startswith("books"):
            assert status == ApplyStatus.APPLIED, (message["action"], status)
            books_applied += 1
            data = message["data"][0]
            reference = references[routed]
            if message["action"] == "snapshot":
                reference.replace(data["bids"], data["asks"])
            else:
                reference.update(data["bids"], data["asks"])
            book = router.book(routed)
            assert not book.is_crossed
            assert max(book.depth) <= 400
    assert books_applied > 0
    for inst_id in inst_ids:
        book = router.book(inst_id)
        assert book.counters()["checksum_errors"] == 0
        assert book.state == BookState.SYNCED
        assert_same_book(book, references[inst_id])


def test_okx_lost_update_fails_the_checksum_and_the_next_snapshot_resyncs():
    payloads = [
        p
        for p in lines(OKX / "books-l2-tbt_cryptofeed_2022-02-27" / "stream.jsonl")
        if json.loads(p).get("arg", {}).get("instId") == "UNI-USD-SWAP"
        and json.loads(p)["arg"]["channel"] == "books-l2-tbt"
        and "action" in json.loads(p)
    ]
    book = OrderBook("UNI-USD-SWAP", "okx")
    actions = [json.loads(p)["action"] for p in payloads]
    second_snapshot = actions.index("snapshot", 1)
    for line in payloads[:20]:
        assert book.apply(line) == ApplyStatus.APPLIED
    assert book.apply(payloads[21]) == ApplyStatus.CHECKSUM_MISMATCH
    assert book.state == BookState.UNSYNCED and book.best_bid() is None
    for line in payloads[22:second_snapshot]:
        assert book.apply(line) in (ApplyStatus.BUFFERED, ApplyStatus.BUFFER_OVERFLOW)
    for line in payloads[second_snapshot:]:
        assert book.apply(line) == ApplyStatus.APPLIED
    assert book.state == BookState.SYNCED


def okx_message(action, seq, prev, bids=(), asks=(), inst="BTC-USDT", checksum=0):
    return json.dumps(
        {
            "arg": {"channel": "books", "instId": inst},
            "action": action,
            "data": [
                {
                    "asks": [[p, q, "0", "1"] for p, q in asks],
                    "bids": [[p, q, "0", "1"] for p, q in bids],
                    "ts": "1700000000000",
                    "checksum": checksum,
                    "prevSeqId": prev,
                    "seqId": seq,
                }
            ],
        }
    )


def test_okx_seq_ids_heartbeat_reset_and_gap():
    book = OrderBook("BTC-USDT", "okx")
    assert (
        book.apply(okx_message("snapshot", 100, -1, [("10.0", "1")], [("11.0", "2")]))
        == ApplyStatus.APPLIED
    )
    assert book.apply(okx_message("update", 105, 100, [("10.5", "3")])) == ApplyStatus.APPLIED
    assert book.apply(okx_message("update", 105, 105)) == ApplyStatus.APPLIED  # heartbeat
    assert book.apply(okx_message("update", 3, 105, [("10.1", "1")])) == ApplyStatus.APPLIED
    assert book.last_update_id == 3  # the sequence reset after maintenance is accepted
    assert book.apply(okx_message("update", 2, 1)) == ApplyStatus.STALE
    assert book.apply(okx_message("update", 9, 7, [("10.2", "1")])) == ApplyStatus.GAP
    assert book.state == BookState.UNSYNCED


def test_okx_rest_bootstrap_without_inband_snapshot():
    book = OrderBook("BTC-USDT", "okx")
    assert book.apply(okx_message("update", 120, 110, [("10.0", "5")])) == ApplyStatus.BUFFERED
    assert book.apply(okx_message("update", 130, 120, [("10.1", "1")])) == ApplyStatus.BUFFERED
    too_old = {
        "code": "0",
        "msg": "",
        "data": [
            {
                "asks": [["11.0", "1", "0", "1"]],
                "bids": [["9.0", "1", "0", "1"]],
                "ts": "1",
                "seqId": 100,
            }
        ],
    }
    assert book.apply_snapshot(json.dumps(too_old)) == ApplyStatus.SNAPSHOT_TOO_OLD
    fresh = dict(too_old, data=[dict(too_old["data"][0], seqId=115)])
    assert book.apply_snapshot(json.dumps(fresh)) == ApplyStatus.APPLIED
    assert book.bids(5).tolist() == [[10.1, 1.0], [10.0, 5.0], [9.0, 1.0]]
    assert book.last_update_id == 130
    error = {"code": "51001", "msg": "Instrument ID does not exist", "data": []}
    with pytest.raises(ValueError, match="51001"):
        book.apply_snapshot(json.dumps(error))


def test_okx_checksum_uses_the_original_strings():
    # Trailing zeros matter: "1.50" and "1.5" give different checksums.
    import zlib

    text = "10.0:1.50:11.0:2"
    checksum = zlib.crc32(text.encode())
    checksum = checksum - (1 << 32) if checksum >= 1 << 31 else checksum
    book = OrderBook("BTC-USDT", "okx")
    assert (
        book.apply(
            okx_message("snapshot", 1, -1, [("10.0", "1.50")], [("11.0", "2")], checksum=checksum)
        )
        == ApplyStatus.APPLIED
    )
    wrong = OrderBook("BTC-USDT", "okx")
    assert (
        wrong.apply(
            okx_message("snapshot", 1, -1, [("10.0", "1.5")], [("11.0", "2")], checksum=checksum)
        )
        == ApplyStatus.CHECKSUM_MISMATCH
    )
