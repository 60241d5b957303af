"""Shared data for the backtest tests: a small simulated Binance spot session written in the
third-party raw format, and the config that trades it."""

from __future__ import annotations

from pathlib import Path

import pytest

from mmcore.sim.flow import SymbolSpec
from mmcore.testing.raw_data import RawSession, write_binance_raw

SPEC = SymbolSpec("BTCUSDT", 60_000.0, tick_decimals=0, lot_decimals=3)

# the demo's BTCUSDT setup (mmcore.demo.demo_setups) as a config file
CONFIG = """
[[venues]]
venue = "binance-spot"
symbols = ["BTCUSDT"]

[[symbols]]
symbol = "BTCUSDT"
venue = "binance-spot"
[symbols.quote]
tick_size = 1.0
lot_size = 0.001
base_size = 0.01
max_position = 0.05
levels = 2
microprice_weight = 0.0
fee_margin_bps = 2.0
flow_alpha_bps = 1.0
[symbols.risk]
max_notional = 9000.0
max_drawdown = 450.0
max_orders_per_s = 50.0
order_burst = 100
[symbols.paper]
feed_latency_s = 0.005
latency_jitter_s = 0.002
seed = 7
"""

BACKTEST = """
[backtest]
feed_latency = "config"
"""


def write_config(folder: Path, extra: str = BACKTEST, name: str = "mm.toml") -> Path:
    """The test config (plus ``extra`` TOML) in ``folder``."""
    path = folder / name
    path.write_text(CONFIG + extra, encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def session_files(tmp_path_factory: pytest.TempPathFactory) -> RawSession:
    """20 s of flow in two files whose names sort against their time order, with a dropped
    diff at 8 s (a gap) and a snapshot to resync from at 11 s."""
    folder = tmp_path_factory.mktemp("raw")
    return write_binance_raw(
        folder,
        SPEC,
        seconds=20.0,
        seed=3,
        files=2,
        drop_at_s=8.0,
        resnapshot_at_s=11.0,
        names=["btcusdt-b.gz", "btcusdt-a.gz"],
    )
