"""``OrderBook.replay`` returns, for every payload, exactly the status ``apply`` returns and the
row ``features()`` gives on a twin book fed the same payloads one by one: every row and every
column of the matrix, over whole bundled captures (Binance with its REST snapshot handed over
mid-stream, OKX with in-band snapshots)."""

from __future__ import annotations

import json

import numpy as np
import pytest

from conftest import SAMPLES, lines
from mmcore import FEATURE_NAMES, ApplyStatus, DecodeError, OrderBook
from test_binance_captures import CASES as BINANCE_CASES

DEPTH = 5
BAND_BPS = 10.0  # so the band-depth columns are numbers, not NaN


def twin_rows(book: OrderBook, payloads: list[str]) -> tuple[list[int], np.ndarray]:
    """``apply`` + ``features`` per payload: the reference for one ``replay`` call."""
    statuses, rows = [], []
    for payload in payloads:
        try:
            statuses.append(int(book.apply(payload)))
        except DecodeError:
            statuses.append(int(ApplyStatus.MALFORMED))
        f = book.features(DEPTH, BAND_BPS).as_dict()
        rows.append([f[name] for name in FEATURE_NAMES])
    return statuses, np.array(rows, dtype=float).reshape(-1, len(FEATURE_NAMES))


def assert_replay_matches_twin(
    replayed: OrderBook, twin: OrderBook, payloads: list[str]
) -> list[int]:
    """One ``replay`` call against the twin; returns the statuses (one per row compared)."""
    statuses, matrix = replayed.replay(payloads, DEPTH, BAND_BPS)
    want_statuses, want = twin_rows(twin, payloads)
    assert statuses.tolist() == want_statuses
    assert matrix.shape == want.shape == (len(payloads), len(FEATURE_NAMES))
    for i in range(len(payloads)):  # row by row, to name the first row that differs
        got = dict(zip(FEATURE_NAMES, matrix[i], strict=True))
        np.testing.assert_array_equal(matrix[i], want[i], err_msg=f"row {i}: {got}")
    return want_statuses


@pytest.mark.parametrize(("folder", "venue", "symbol"), BINANCE_CASES)
def test_binance_capture_replay_equals_apply_and_features(folder, venue, symbol):
    directory = SAMPLES / "binance" / folder
    snapshot = next(iter(sorted(directory.glob(f"rest_depth_{symbol}_limit*.json"))))
    body = snapshot.read_bytes()
    last_id = json.loads(body)["lastUpdateId"]
    payloads = lines(directory / "stream.jsonl")
    # the snapshot arrives just before the first diff it does not cover
    cut = next(
        i
        for i, line in enumerate(payloads)
        if (d := json.loads(line)["data"]).get("e") == "depthUpdate"
        and d["s"] == symbol
        and d["u"] > last_id
    )
    replayed, twin = OrderBook(symbol, venue), OrderBook(symbol, venue)
    statuses = assert_replay_matches_twin(replayed, twin, payloads[:cut])
    assert replayed.apply_snapshot(body) == twin.apply_snapshot(body) == ApplyStatus.APPLIED
    statuses += assert_replay_matches_twin(replayed, twin, payloads[cut:])
    assert len(statuses) == len(payloads)
    assert statuses.count(int(ApplyStatus.APPLIED)) > 0, "the rows must cover applied diffs"


OKX_CAPTURES = ["books-l2-tbt_cryptofeed_2022-02-27", "books_cryptofeed_2022-05-13"]


@pytest.mark.parametrize("folder", OKX_CAPTURES)
def test_okx_capture_replay_equals_apply_and_features(folder):
    payloads = lines(SAMPLES / "okx" / folder / "stream.jsonl")
    inst = next(
        m["arg"]["instId"]
        for m in map(json.loads, payloads)
        if "data" in m and m["arg"]["channel"].startswith("books")
    )
    replayed, twin = OrderBook(inst, "okx"), OrderBook(inst, "okx")
    statuses = assert_replay_matches_twin(replayed, twin, payloads)
    assert len(statuses) == len(payloads)
    assert statuses.count(int(ApplyStatus.APPLIED)) > 0, "the rows must cover applied updates"
