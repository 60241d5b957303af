"""`python -m mmcore backtest`: the third-party raw format, determinism, results, bad inputs."""

from __future__ import annotations

import gzip
import hashlib
import json
import math
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from mmcore.backtest.config import load_backtest_config
from mmcore.backtest.data import DataError, open_session, parse_data_args
from mmcore.backtest.replay import run_backtest
from mmcore.backtest.run import backtest
from mmcore.cli import main
from mmcore.config import ConfigError, load_toml
from mmcore.testing.child import child_env
from mmcore.testing.raw_data import RawSession

from .conftest import CONFIG, write_config


def _load(folder: Path, extra: str | None = None):
    path = write_config(folder) if extra is None else write_config(folder, extra)
    return load_backtest_config(load_toml(path))


def _session(files: RawSession):
    folder = files.files[0].parent
    return open_session({"": [str(folder / "*.gz")]}, {"BTCUSDT": "binance-spot"}, "BTCUSDT")


def test_raw_files_of_a_session_replay_in_time_order_through_gap_and_resync(
    session_files: RawSession, tmp_path: Path
) -> None:
    session = _session(session_files)
    # btcusdt-a.gz sorts first by name but holds the second half: ordered by first timestamp
    assert [f.name for f in session.sources[0].files] == ["btcusdt-b.gz", "btcusdt-a.gz"]
    run = run_backtest(_load(tmp_path), session)
    feed = run.trader.feed
    total = session_files.diffs + session_files.trades + session_files.snapshots
    assert run.messages == total, "every line of both files was read"
    assert feed.metrics.gaps == 1, "the dropped diff is a gap"
    book = feed.book("BTCUSDT")
    counters = book.counters()
    assert counters["snapshots"] == 2, "synced from the first snapshot, resynced from the second"
    # the book crossed the file boundary and the resync and ends equal to the venue's
    assert book.bids(1000).tolist() == [[float(p), float(q)] for p, q in session_files.bids]
    assert book.asks(1000).tolist() == [[float(p), float(q)] for p, q in session_files.asks]
    # between the gap and the resync the feed is unsafe: halted, no working orders
    rows = [r for r in run.recorder.rows if 9.0 <= r.t <= 10.5]
    assert rows and all(r.feed_state == "unsynced" and r.risk_state == "halted" for r in rows)
    assert all(math.isnan(r.our_bid) and math.isnan(r.our_ask) for r in rows)
    # quoting resumed after the resync and the engine traded
    later = [r for r in run.recorder.rows if r.t >= 12.0]
    assert any(r.risk_state == "active" and not math.isnan(r.our_bid) for r in later)
    assert len(run.recorder.fills) > 10
    # the prints went to the engine (paper venue fills) and to the book's flow features
    assert run.trades == session_files.trades
    assert book.features(5).trade_count == session_files.trades


def test_same_data_and_config_give_byte_identical_fills(
    session_files: RawSession, tmp_path: Path
) -> None:
    """Twice in this process and once in another with a different string-hash seed."""
    import subprocess
    import sys

    cfg_path = write_config(tmp_path)
    cfg = load_backtest_config(load_toml(cfg_path))
    glob = str(session_files.files[0].parent / "*.gz")
    hashes = []
    for name in ("one", "two"):
        out = tmp_path / name
        summary = backtest(cfg, parse_data_args([glob]), out)
        assert summary["metrics"]["fills"] > 10
        hashes.append(hashlib.sha256((out / "fills.parquet").read_bytes()).hexdigest())
    env = child_env(PYTHONHASHSEED="12345")
    cmd = [sys.executable, "-m", "mmcore", "backtest", "--data", glob, "--config", str(cfg_path)]
    done = subprocess.run([*cmd, "--out", str(tmp_path / "three")], env=env, capture_output=True)
    assert done.returncode == 0, done.stderr
    hashes.append(hashlib.sha256((tmp_path / "three" / "fills.parquet").read_bytes()).hexdigest())
    assert hashes[0] == hashes[1] == hashes[2]


def test_results_folder_has_report_summary_and_fills(
    session_files: RawSession, tmp_path: Path
) -> None:
    cfg = _load(tmp_path, '[backtest]\nfeed_latency = "config"\nreturn_interval_s = 2.0\n')
    out = tmp_path / "out"
    data = parse_data_args([str(session_files.files[0].parent / "*.gz")])
    summary = backtest(cfg, data, out)
    html = (out / "report.html").read_text()
    assert "mmcore run report" in html and "none (not replayed)" in html  # no advisors
    on_disk = json.loads((out / "summary.json").read_text())
    m = on_disk["metrics"]
    fills = pq.read_table(out / "fills.parquet").to_pylist()
    assert len(fills) == m["fills"] == summary["metrics"]["fills"]
    assert {f["side"] for f in fills} == {"buy", "sell"}
    assert all(f["client_id"] for f in fills)
    # the decomposition adds up to the portfolio's PnL (the report's identity)
    parts = m["spread_captured"] + m["adverse_selection"] + m["inventory_pnl"] - m["fees"]
    assert parts == pytest.approx(m["pnl"], abs=1e-6)
    assert 0 < m["fill_ratio"] <= 1
    assert m["return_intervals"] >= 8 and m["sharpe"] is not None
    assert set(on_disk["definitions"]) >= {"return_interval_s", "annualisation"}
    for h in ("1", "10", "60"):
        assert f"markout_{h}s_bps" in m


def test_feed_delays_are_measured_from_the_data_and_dated_per_message(
    session_files: RawSession, tmp_path: Path
) -> None:
    cfg = _load(tmp_path, "")  # feed_latency = "per_message" by default
    run = run_backtest(cfg, _session(session_files))
    # the writer stamps each line 2 ms after its event time (ms resolution: 2.0-3.0 ms)
    assert run.feed_delays is not None and run.feed_delays.clock_offset_s == 0.0
    assert 0.002 <= run.feed_delays.median_s <= 0.003
    assert run.setups[0].paper.feed_latency_s == run.feed_delays.median_s
    assert run.trader.engines["BTCUSDT"].exchange_clock_offset_s == 0.0
    assert len(run.recorder.fills) > 10


def test_latency_file_is_fitted_into_the_paper_venue(
    session_files: RawSession, tmp_path: Path
) -> None:
    lat = tmp_path / "latency.csv"
    rows = ["kind,round_trip_s"]
    rows += [f"order,{0.010 + i * 0.0001:.4f}" for i in range(101)]  # 10..20 ms
    rows += [f"cancel,{0.008 + i * 0.0001:.4f}" for i in range(101)]  # 8..18 ms
    lat.write_text("\n".join(rows) + "\n")
    cfg = _load(tmp_path, f'[backtest]\nfeed_latency = "config"\nlatency_file = "{lat}"\n')
    run = run_backtest(cfg, _session(session_files))
    paper = run.setups[0].paper
    assert paper.entry_latency_s == pytest.approx(0.0105 / 2, rel=1e-6)  # 5th pct one way
    assert paper.cancel_latency_s == pytest.approx(0.0085 / 2, rel=1e-6)
    assert paper.latency_jitter_s == pytest.approx(0.009 / 2, rel=1e-6)  # 5th-95th pct
    bad = tmp_path / "bad.csv"
    bad.write_text("kind,round_trip_s\norder,0.01\nsend,0.02\n")
    with pytest.raises(ConfigError, match=r"backtest.latency_file: .*bad.csv:3: kind must be"):
        run_backtest(
            _load(tmp_path, f'[backtest]\nlatency_file = "{bad}"\n'), _session(session_files)
        )


def test_fee_tier_overrides_the_paper_fees(session_files: RawSession, tmp_path: Path) -> None:
    extra = (
        '[backtest]\nfeed_latency = "config"\n[backtest.fees."binance-spot"]\n'
        'tier = "VIP 9"\nmaker_fee_bps = -0.5\ntaker_fee_bps = 2.0\n'
    )
    run = run_backtest(_load(tmp_path, extra), _session(session_files))
    assert run.setups[0].paper.maker_fee_bps == -0.5
    assert run.recorder.fills and all(f.fee < 0 for f in run.recorder.fills if f.maker)


# -- bad inputs --------------------------------------------------------------------------------


def test_unknown_format_is_refused_naming_the_file(tmp_path: Path) -> None:
    plain = tmp_path / "notes.gz"
    with gzip.open(plain, "wt") as fh:
        fh.write("hello world\n")
    with pytest.raises(DataError, match=r"notes.gz: unknown format"):
        open_session({"": [str(plain)]}, {"BTCUSDT": "binance-spot"}, "BTCUSDT")
    text = tmp_path / "data.json"
    text.write_text('{"a": 1}')
    with pytest.raises(DataError, match=r"data.json: unknown format \(not gzip"):
        open_session({"": [str(text)]}, {"BTCUSDT": "binance-spot"}, "BTCUSDT")
    with pytest.raises(DataError, match=r"nothing-\*.gz: no file matches"):
        open_session({"": [str(tmp_path / "nothing-*.gz")]}, {"BTCUSDT": "binance-spot"}, "X")


def test_a_symbol_without_snapshot_is_refused_with_the_reason(
    session_files: RawSession, tmp_path: Path
) -> None:
    no_snap = tmp_path / "nosnap.gz"
    with gzip.open(session_files.files[0]) as src, gzip.open(no_snap, "wb") as dst:
        for line in src:
            if b'"lastUpdateId"' not in line:
                dst.write(line)
    with pytest.raises(DataError, match=r"BTCUSDT: no REST depth snapshot in the data"):
        open_session({"": [str(no_snap)]}, {"BTCUSDT": "binance-spot"}, "BTCUSDT")


def test_raw_files_without_a_symbol_need_one_when_the_config_trades_several(
    session_files: RawSession,
) -> None:
    venues = {"BTCUSDT": "binance-spot", "ETHUSDT": "binance-spot"}
    with pytest.raises(DataError, match="name it as SYMBOL=GLOB"):
        open_session({"": [str(session_files.files[0])]}, venues, None)
    with pytest.raises(DataError, match="SOLUSDT: not a symbol of the config"):
        open_session({"SOLUSDT": [str(session_files.files[0])]}, venues, None)


@pytest.mark.parametrize(
    ("extra", "field"),
    [
        ("[backtest]\ntimer_s = 0.0\n", "backtest.timer_s: must be > 0"),
        ('[backtest]\nfeed_latency = "guess"\n', "backtest.feed_latency: must be one of"),
        ('[backtest.fees."binance-spot"]\nmaker_fee_bps = 500.0\n', "maker_fee_bps: must be <="),
        ('[backtest.fees."okx"]\ntier = "x"\n', 'backtest.fees."okx": no \\[\\[venues\\]\\]'),
        ("[backtest]\nspeed = 2\n", "backtest.speed: unknown key"),
    ],
)
def test_config_fields_out_of_range_are_refused_by_name(
    tmp_path: Path, extra: str, field: str
) -> None:
    with pytest.raises(ConfigError, match=field):
        _load(tmp_path, extra)


def test_cli_refuses_bad_input_with_the_reason_and_runs_good_input(
    session_files: RawSession, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cfg = write_config(tmp_path)
    bad = tmp_path / "bad.toml"
    bad.write_text(CONFIG.replace("max_position = 0.05", "max_position = -1.0"))
    assert main(["backtest", "--data", str(session_files.files[0]), "--config", str(bad)]) == 2
    assert "configuration error: symbols[0].quote.max_position" in capsys.readouterr().err
    junk = tmp_path / "junk.bin"
    junk.write_bytes(b"\x00\x01")
    assert main(["backtest", "--data", str(junk), "--config", str(cfg)]) == 2
    assert "data error:" in capsys.readouterr().err
    out = tmp_path / "res"
    data = str(session_files.files[0].parent / "*.gz")
    assert main(["backtest", "--data", data, "--config", str(cfg), "--out", str(out)]) == 0
    assert "fills" in capsys.readouterr().out
    assert (out / "summary.json").exists() and (out / "fills.parquet").exists()


def test_a_tape_with_a_second_connection_resyncs_from_its_snapshot(tmp_path: Path) -> None:
    from mmcore.sim.flow import SymbolSpec
    from mmcore.tape import TapeWriter
    from mmcore.testing.raw_data import write_binance_raw

    spec = SymbolSpec("BTCUSDT", 60_000.0, tick_decimals=0, lot_decimals=3)
    raw = write_binance_raw(tmp_path / "raw", spec, seconds=12.0, seed=4, resnapshot_at_s=6.0)
    with gzip.open(raw.files[0]) as fh:
        payloads = [line.rstrip(b"\n").partition(b" ")[2] for line in fh]
    snaps = [i for i, p in enumerate(payloads) if p.startswith(b'{"lastUpdateId"')]
    assert len(snaps) == 2
    with TapeWriter(tmp_path / "tape", "binance-spot", ["BTCUSDT"]) as tape:
        tape.write_connect(1, "ws://venue/1")
        for i, p in enumerate(payloads):
            if i == snaps[1]:  # the connection drops; the new one fetches this snapshot
                tape.write_connect(2, "ws://venue/2")
            if i in snaps:
                tape.write_snapshot(2 if i == snaps[1] else 1, "BTCUSDT", p)
            else:
                tape.write_frame(2 if i > snaps[1] else 1, p)
    session = open_session({"": [str(tmp_path / "tape")]}, {"BTCUSDT": "binance-spot"}, None)
    run = run_backtest(_load(tmp_path), session)
    feed = run.trader.feed
    assert feed.epoch == 2, "the second connection replays as a reconnect"
    book = feed.book("BTCUSDT")
    assert book.counters()["snapshots"] == 1, "the new connection's books synced afresh"
    assert book.bids(1000).tolist() == [[float(p), float(q)] for p, q in raw.bids]
    assert book.asks(1000).tolist() == [[float(p), float(q)] for p, q in raw.asks]
    assert run.trader.engines["BTCUSDT"].book is book


def test_progress_bar_shows_events_simulated_time_and_rate(session_files: RawSession) -> None:
    import io

    from rich.console import Console

    from mmcore.backtest.replay import _Progress

    out = io.StringIO()
    bar = _Progress(True, _session(session_files), Console(file=out, force_terminal=True))
    bar.update(12_345, 67.8, 0.5)
    bar.close()
    text = out.getvalue()
    assert "12,345 events" in text and "sim 67.8 s" in text and "24,690 events/s" in text


def test_a_message_stamped_back_in_time_is_replayed_at_the_time_reached(
    session_files: RawSession, tmp_path: Path
) -> None:
    src = session_files.files[0]
    out = tmp_path / "skewed.gz"
    with gzip.open(src) as fh:
        lines = fh.read().splitlines()
    ts, _, rest = lines[500].partition(b" ")
    lines[500] = str(int(ts) - 2_000_000_000).encode() + b" " + rest  # 2 s early
    with gzip.open(out, "wb") as fh:
        fh.write(b"\n".join(lines) + b"\n")
    session = open_session({"": [str(out)]}, {"BTCUSDT": "binance-spot"}, "BTCUSDT")
    run = run_backtest(_load(tmp_path), session)
    assert run.clock_backsteps == 1
    assert run.messages == len(lines)
    times = [r.t for r in run.recorder.rows]
    assert times == sorted(times)
