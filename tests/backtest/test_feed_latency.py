"""Per-message feed latency: the paper venue dates each market event at its own exchange time.

A constructed Binance session (raw collector lines) where our resting bid's fill depends on
two trades' different delays. The engine quotes when the book syncs at local 1 ms: its bids
reach the venue at 6 ms (5 ms entry latency). Two sell trades go through them:

- X, received at 9 ms, happened at 1 ms (8 ms delay): before the bids arrived, no fill;
- Y, received at 20 ms, happened at 17 ms (3 ms delay): fills both bids at venue time 17 ms,
  the fills reaching us at 22 ms (5 ms response latency).

No constant delay gives that: X misses the bids only with a delay above 3 ms, while Y's
fills are stamped 22 ms only with a delay of exactly 3 ms (the median delay of the session,
2 ms, fills the bids on X).
"""

from __future__ import annotations

import gzip
import json
import sqlite3
from pathlib import Path

import pytest

from mmcore.backtest.config import load_backtest_config
from mmcore.backtest.data import open_session
from mmcore.backtest.latency import measure_feed_delays
from mmcore.backtest.replay import BacktestRun, run_backtest
from mmcore.config import load_toml

from .conftest import CONFIG

T0_MS = 1_700_000_000_000
PAPER = """
[symbols.paper]
entry_latency_s = 0.005
cancel_latency_s = 0.005
response_latency_s = 0.005
"""
BIDS = [["59999", "1.0"], ["59998", "1.0"], ["59997", "1.0"]]
ASKS = [["60001", "1.0"], ["60002", "1.0"], ["60003", "1.0"]]


def _line(local_ms: float, payload: dict) -> bytes:
    ns = round((T0_MS + local_ms) * 1_000_000)
    return f"{ns} {json.dumps(payload, separators=(',', ':'))}".encode()


def _diff(u: int, exch_ms: float, bid_qty: str = "1.0") -> dict:
    data = {"e": "depthUpdate", "E": T0_MS + round(exch_ms), "s": "BTCUSDT", "U": u, "u": u}
    data |= {"b": [["59999", bid_qty]], "a": []}
    return {"stream": "btcusdt@depth@100ms", "data": data}


def _sell(trade_id: int, exch_ms: float) -> dict:
    """A seller-aggressor print at 59000: through every bid of ours."""
    t = T0_MS + round(exch_ms)
    data = {"e": "trade", "E": t, "s": "BTCUSDT", "t": trade_id, "p": "59000", "q": "5.0"}
    data |= {"T": t, "m": True, "M": True}
    return {"stream": "btcusdt@trade", "data": data}


def _write_session(folder: Path, skew_ms: float = 0.0) -> Path:
    """The session (module docstring); ``skew_ms``: the exchange's clock runs that far ahead
    of the collector's (every event time is stamped that much later)."""
    snapshot = {"lastUpdateId": 1000, "bids": BIDS, "asks": ASKS}
    lines = [
        (0.0, _diff(1001, -2.0)),
        (1.0, snapshot),  # the book syncs: the engine quotes, bids at the venue at 6 ms
        (9.0, _sell(1, 1.0)),  # X: 8 ms delay
        (20.0, _sell(2, 17.0)),  # Y: 3 ms delay
    ]
    # diffs every 10 ms, 2 ms delay (the session's median)
    lines += [(30.0 + 10 * k, _diff(1002 + k, 28.0 + 10 * k, f"{1 + k % 2}.0")) for k in range(20)]
    for _, payload in lines:
        data = payload.get("data")
        if data is not None:
            data["E"] += round(skew_ms)
            if "T" in data:
                data["T"] += round(skew_ms)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "btcusdt.gz"
    with gzip.open(path, "wb") as fh:
        for local_ms, payload in lines:
            fh.write(_line(local_ms, payload) + b"\n")
    return path


def _run(tmp_path: Path, mode: str, skew_ms: float = 0.0, journal: bool = False) -> BacktestRun:
    cfg_path = tmp_path / f"{mode}.toml"
    # the shared config with its paper section replaced: no jitter, no configured feed delay
    base = CONFIG[: CONFIG.index("[symbols.paper]")]
    cfg_path.write_text(base + PAPER + f'[backtest]\nfeed_latency = "{mode}"\n')
    cfg = load_backtest_config(load_toml(cfg_path))
    data = _write_session(tmp_path / f"data-{skew_ms}", skew_ms)
    session = open_session({"": [str(data)]}, {"BTCUSDT": "binance-spot"}, "BTCUSDT")
    out = None
    if journal:
        out = tmp_path / f"out-{mode}-{skew_ms}"
        out.mkdir()
    return run_backtest(cfg, session, out=out)


def _fill_times(run: BacktestRun) -> list[float]:
    """The venue's stamps of the fills (when they reach us), from the run's journal."""
    assert run.journal is not None
    with sqlite3.connect(run.journal) as db:
        return [ts for (ts,) in db.execute("SELECT ts FROM fills ORDER BY fill_id")]


def _fills(run: BacktestRun) -> list[tuple]:
    return [(f.fill_id, f.sign, f.price, f.qty, round(f.t, 9)) for f in run.recorder.fills]


def test_each_message_is_dated_at_its_own_exchange_time(tmp_path: Path) -> None:
    run = _run(tmp_path, "per_message", journal=True)
    assert run.feed_delays is not None and run.feed_delays.clock_offset_s == 0.0
    # only Y filled the two bids quoted at the sync, at venue time 17 ms: the fills reached
    # us at 22 ms
    assert run.fill_client_ids == ["mm-BTCUSDT-1", "mm-BTCUSDT-3"]
    assert [f.sign for f in run.recorder.fills] == [1, 1]
    assert _fill_times(run) == pytest.approx([0.022, 0.022], abs=1e-6)
    # the batch path (no journal: one Rust call per batch) makes the same fills
    assert _fills(_run(tmp_path, "per_message")) == _fills(run)


def test_a_constant_delay_fills_on_the_early_print(tmp_path: Path) -> None:
    run = _run(tmp_path, "median", journal=True)
    assert run.feed_delays is not None
    assert run.feed_delays.median_s == pytest.approx(0.002, abs=1e-6)
    assert run.setups[0].paper.feed_latency_s == run.feed_delays.median_s
    # X (9 ms - 2 ms = 7 ms at the venue) found the bids there since 6 ms
    assert run.fill_client_ids[:2] == ["mm-BTCUSDT-1", "mm-BTCUSDT-3"]
    assert _fill_times(run)[:2] == pytest.approx([0.012, 0.012], abs=1e-6)


def test_a_clock_offset_is_removed_before_dating(tmp_path: Path) -> None:
    """The exchange's clock 50 ms ahead: every delay reads 50 ms too short (negative). The
    offset is removed (the lowest delays, the diffs' 2 ms, become 0), not clamped per message
    (which would date X at its receive time, after the bids arrived, and fill them on it)."""
    run = _run(tmp_path, "per_message", skew_ms=50.0, journal=True)
    assert run.feed_delays is not None
    assert run.feed_delays.clock_offset_s == pytest.approx(0.048, abs=1e-6)
    # delays 2 ms shorter than the true ones: Y happened at 19 ms, its fills reach us at 24 ms
    assert _fill_times(run) == pytest.approx([0.024, 0.024], abs=1e-6)


def test_the_clock_offset_is_a_low_percentile_not_the_minimum() -> None:
    base = T0_MS * 1_000_000
    msgs = [
        (base + k * 10_000_000 + 3_000_000, json.dumps({"E": T0_MS + 10 * k}).encode())
        for k in range(300)
    ]
    # one message stamped 40 ms after we got it: clock noise, not the clocks' disagreement
    msgs.append((base + 3_000_000_000, json.dumps({"E": T0_MS + 3040}).encode()))
    delays = measure_feed_delays(msgs)
    assert delays.samples == 301
    assert delays.clock_offset_s == 0.0
    assert delays.median_s == pytest.approx(0.003)
    late = [(ts - 5_000_000, payload) for ts, payload in msgs]  # every delay 2 ms negative
    assert measure_feed_delays(late).clock_offset_s == pytest.approx(0.002)
    assert measure_feed_delays(late).median_s == pytest.approx(0.0, abs=1e-9)
