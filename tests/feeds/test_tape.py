"""Tapes: recording through the live feed and replaying through the same decode path."""

from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np
import pytest
from tests.feeds.conftest import (
    SYNC_TIMEOUT,
    VenueCase,
    assert_matches_true_book,
    eventually,
    feed_config,
    running_feed,
)

from mmcore.tape import RecordKind, TapeError, TapeWriter, read_tape, replay_tape


async def test_tape_round_trip_rebuilds_the_live_books(case: VenueCase, tmp_path: Path) -> None:
    tape = TapeWriter(tmp_path, case.venue, case.symbols, rotate_bytes=2 * 1024)
    async with case.fake() as fake, running_feed(feed_config(case, fake), tape=tape) as feed:
        assert await feed.wait_synced(SYNC_TIMEOUT)
        fake.kill_connections()  # two epochs on the tape
        await eventually(lambda: feed.epoch == 2, "the reconnect")
        await fake.step(30)
        await assert_matches_true_book(feed, fake, case.symbols)
        fake.pause()  # no await since the check: the books cannot change any more
        live = {s: (feed.book(s).bids(10_000), feed.book(s).asks(10_000)) for s in case.symbols}
    tape.close()
    assert len(tape.files) > 1, "the tape must have rotated"

    replay = replay_tape(tmp_path)
    assert replay.epochs == [1, 2]
    assert replay.frames == feed.metrics.msgs, "every received frame is on the tape"
    if case.venue.startswith("binance"):
        assert replay.snapshots >= 2 * len(case.symbols), "one snapshot per symbol and epoch"
    else:
        assert replay.snapshots == 0
    for sym, (bids, asks) in live.items():
        book = replay.session.router.book(sym)
        np.testing.assert_array_equal(book.bids(10_000), bids)
        np.testing.assert_array_equal(book.asks(10_000), asks)


def test_unfinished_tape_yields_complete_records(tmp_path: Path) -> None:
    writer = TapeWriter(tmp_path, "okx", ["BTC-USDT"])
    writer.write_connect(1, "ws://x")
    for i in range(100):
        writer.write_frame(1, f"frame {i}".encode())
    writer.flush()  # the process dies here: no gzip trailer
    records = list(read_tape(tmp_path))
    assert [r.kind for r in records[:2]] == [RecordKind.HEADER, RecordKind.CONNECT]
    assert [r.payload for r in records[2:]] == [f"frame {i}".encode() for i in range(100)]
    writer.close()


def test_not_a_tape_is_a_clear_error(tmp_path: Path) -> None:
    bad = tmp_path / "x.tape.gz"
    bad.write_bytes(b"plain text")
    with pytest.raises(TapeError, match="not a gzip tape"):
        list(read_tape(bad))
    with gzip.open(bad, "wb") as fh:
        fh.write(b"\x01" * 40)
    with pytest.raises(TapeError, match=r"x\.tape\.gz"):
        list(read_tape(bad))
    with pytest.raises(TapeError, match="no such tape"):
        list(read_tape(tmp_path / "missing.tape.gz"))
