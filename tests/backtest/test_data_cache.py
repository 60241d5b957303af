"""The decoded-data cache of a sweep worker: the same messages and results as reading the
files, each file read once, a rewritten file read again, a memory bound kept."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from mmcore.backtest.data import Message, MessageCache, open_session
from mmcore.backtest.sweep import RunTask, _worker_cache, run_one
from mmcore.config import load_toml
from mmcore.testing.raw_data import RawSession

from .conftest import write_config

VENUE = {"BTCUSDT": "binance-spot"}


def _open(folder: Path, cache: MessageCache | None):
    return open_session({"": [str(folder / "*.gz")]}, VENUE, "BTCUSDT", cache)


def _copy(files: RawSession, folder: Path) -> Path:
    folder.mkdir()
    for f in files.files:
        shutil.copy2(f, folder / f.name)
    return folder


def test_cached_messages_are_the_files_messages_and_each_file_is_read_once(
    session_files: RawSession, tmp_path: Path
) -> None:
    folder = _copy(session_files, tmp_path / "data")
    plain = list(_open(folder, None).messages())
    cache = MessageCache(64 << 20)
    first = list(_open(folder, cache).messages())
    assert (cache.misses, cache.hits, len(cache)) == (2, 0, 2)
    second = _open(folder, cache)
    again = list(second.messages())
    assert (cache.misses, cache.hits) == (2, 2), "the second session read no file"
    assert first == plain and again == plain
    assert second.consumed_bytes == second.total_bytes  # progress still reaches the end

    # a rewritten file (its modification time changes) is read again, the other one is not
    kept = folder / session_files.files[-1].name
    os.utime(kept, ns=(kept.stat().st_atime_ns, kept.stat().st_mtime_ns + 10**9))
    list(_open(folder, cache).messages())
    assert (cache.misses, cache.hits) == (3, 3)


def test_the_cache_stays_within_its_bytes_and_keeps_no_partial_file(
    session_files: RawSession, tmp_path: Path
) -> None:
    folder = _copy(session_files, tmp_path / "data")
    sizes = []
    for f in sorted(folder.glob("*.gz")):
        one = MessageCache(1 << 30)
        list(open_session({"": [str(f)]}, VENUE, "BTCUSDT", one).messages())
        sizes.append(one.bytes)
    # room for the larger file only: the two alternate, never both kept
    cache = MessageCache(max(sizes))
    for _ in range(2):
        list(_open(folder, cache).messages())
        assert len(cache) == 1 and cache.bytes <= cache.max_bytes
    assert cache.hits == 0 and cache.misses == 4
    # smaller than any file: everything streams, nothing kept, same messages
    tiny = MessageCache(min(sizes) - 1)
    assert list(_open(folder, tiny).messages()) == list(_open(folder, None).messages())
    assert (len(tiny), tiny.bytes) == (0, 0)
    # a read abandoned part-way leaves nothing behind
    cache = MessageCache(1 << 30)
    stream = _open(folder, cache).messages()
    assert isinstance(next(stream), Message)
    stream.close()
    assert len(cache) == 0


def test_a_sweep_worker_s_runs_on_cached_data_give_the_rows_of_uncached_runs(
    session_files: RawSession, tmp_path: Path
) -> None:
    base = load_toml(write_config(tmp_path))
    data = (str(session_files.files[0].parent / "*.gz"),)
    params = [{"symbols.BTCUSDT.quote.spread_adj": v} for v in (0.6, 1.0)]
    rows = {}
    for mb in (0, 64, 64):  # no cache; the first run filling it; the next ones from it
        for i, p in enumerate(params):
            row = run_one(RunTask(f"p{i:04d}-sim", "sim", p, base, data, mb))
            assert row["error"] is None
            row.pop("run_time_s"), row.pop("cpu_s")
            assert rows.setdefault(row["run_id"], row) == row
    assert rows["p0000-sim"]["pnl"] != rows["p0001-sim"]["pnl"]
    cache = _worker_cache(64)
    assert cache is not None and (cache.misses, cache.hits) == (2, 6)
