"""``mmcore record`` end to end against a fake exchange running in another thread."""

from __future__ import annotations

import argparse
import itertools
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from tests.child_lines import lines_within

from mmcore.cli_record import add_parser, run
from mmcore.tape import replay_tape
from mmcore.testing.fake_exchange import BinanceWire
from mmcore.testing.fake_exchange.threaded import VENUE_FAKES, fake_in_thread, venue_symbols

TIMEOUT_S = 60.0  # per status line and for the exit, on a loaded machine


@pytest.fixture
def binance_in_thread() -> Iterator[BinanceWire]:
    """A Binance fake served by its own event loop, so the recorder can own the main one."""
    with fake_in_thread(lambda: BinanceWire(["BTCUSDT", "ETHUSDT"])) as fake:
        assert isinstance(fake, BinanceWire)
        yield fake


def _record_until(cmd: list[str], marker: str) -> list[str]:
    """Run the recorder ``cmd`` as a child, SIGINT it once a status line contains ``marker``;
    it must exit cleanly. Returns the lines it wrote after the marker."""
    child = subprocess.Popen(cmd, stderr=subprocess.PIPE, env=dict(os.environ))
    try:
        assert child.stderr is not None
        lines = lines_within(child.stderr, TIMEOUT_S)
        seen = list(itertools.takewhile(lambda line: marker not in line, lines))
        child.send_signal(signal.SIGINT)
        rest = list(lines)
        assert child.wait(TIMEOUT_S) == 0, [*seen, *rest]
    finally:
        child.kill()
        child.wait()
    return rest


def _parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="mmcore")
    add_parser(parser.add_subparsers())
    return parser.parse_args(argv)


def test_record_writes_a_tape_that_replays_to_synced_books(
    binance_in_thread: BinanceWire, tmp_path: Path
) -> None:
    """``mmcore record`` in a child process, stopped with SIGINT once it reports both books
    synced (waiting on its status lines, not on a fixed duration)."""
    fake = binance_in_thread
    cmd = [sys.executable, "-m", "mmcore", "record", "--venue", "binance-spot"]
    cmd += ["--symbols", "BTCUSDT,ETHUSDT", "--out", str(tmp_path), "--stats-every", "0.1"]
    cmd += ["--duration", "120", "--ws-url", fake.ws_url, "--rest-url", fake.rest_url]
    rest = _record_until(cmd, "synced 2/2")
    assert any("wrote" in line for line in rest), rest
    replay = replay_tape(tmp_path)
    assert replay.frames > 0
    assert replay.snapshots >= 2
    for sym in ("BTCUSDT", "ETHUSDT"):
        assert replay.session.is_synced(sym)


@pytest.mark.parametrize("venue", ["binance-spot", "binance-coinm", "bybit-spot", "okx"])
def test_record_many_symbols_reports_the_time_to_all_synced(venue: str, tmp_path: Path) -> None:
    """Enough symbols that Binance subscribes past its URL and Bybit and OKX send several
    subscribe frames; the recorder says when every book was first synced."""
    symbols = venue_symbols(venue, 24)
    config = tmp_path / "mm.toml"
    config.write_text("[feeds]\nsnapshot_limit = 100\nrest_weight_per_minute = 6000\n")
    out = tmp_path / "tape"
    with fake_in_thread(lambda: VENUE_FAKES[venue](symbols, interval=0.05)) as fake:
        cmd = [sys.executable, "-m", "mmcore", "record", "--venue", venue, "--config", str(config)]
        cmd += ["--symbols", ",".join(symbols), "--out", str(out), "--stats-every", "0.5"]
        cmd += ["--duration", "120", "--ws-url", fake.ws_url, "--rest-url", fake.rest_url]
        _record_until(cmd, f"all {len(symbols)} symbols synced after")
    replay = replay_tape(out)
    for sym in symbols:
        assert replay.session_for(sym).is_synced(sym), sym


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--symbols", ""], "feeds.symbols"),
        (["--symbols", "BTCUSDT", "--ws-url", "http://nope"], "feeds.ws_url"),
        (["--symbols", "BTCUSDT", "--duration", "0"], "--duration"),
        (["--symbols", "BTCUSDT", "--out", __file__], "--out"),
    ],
)
def test_record_rejects_bad_arguments(
    extra: list[str], message: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    args = _parse(["record", "--venue", "binance-spot", "--out", str(tmp_path), *extra])
    assert run(args) == 2
    assert message in capsys.readouterr().err
