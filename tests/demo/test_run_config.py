"""`python -m mmcore run --config mm.toml --paper`: the example config and the paper run path."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from mmcore.cli import main
from mmcore.cli_run import load_run_config
from mmcore.config import ConfigError
from mmcore.feeds import Feed
from mmcore.runner import RunOptions, run_trading
from mmcore.sim import SimListing, SimMarket, SymbolSpec

ROOT = Path(__file__).resolve().parents[2]


def test_the_example_config_is_valid_and_offline():
    cfg = load_run_config(tomllib.loads((ROOT / "mm.toml").read_text()), env={})
    assert [f.venue for f in cfg.feeds] == ["binance-spot", "bybit-spot"]
    assert [s.symbol for s in cfg.setups] == ["BTCUSDT", "ETHUSDT"]
    assert cfg.setups[0].risk.max_position == cfg.setups[0].quote.max_position
    assert cfg.llm.offline


@pytest.mark.parametrize(
    ("patch", "field"),
    [
        ({"symbols": [{"symbol": "XRPUSDT", "venue": "binance-spot"}]}, "symbols[0].symbol"),
        ({"venues": [{"venue": "nowhere", "symbols": ["BTCUSDT"]}]}, "venues[0].venue"),
        ({"run": {"duration_s": "long"}}, "run.duration_s"),
        ({"extra": {}}, "extra"),
    ],
)
def test_bad_config_names_the_field(patch, field):
    data = tomllib.loads((ROOT / "mm.toml").read_text()) | patch
    with pytest.raises(ConfigError) as err:
        load_run_config(data, env={})
    assert err.value.path == field


def test_run_without_paper_or_with_a_bad_file_exits_2(tmp_path, capsys):
    assert main(["run", "--config", str(ROOT / "mm.toml")]) == 2
    assert "--paper" in capsys.readouterr().out
    bad = tmp_path / "bad.toml"
    bad.write_text("[run\n")
    assert main(["run", "--config", str(bad), "--paper"]) == 2
    assert "invalid TOML" in capsys.readouterr().out


async def test_a_config_run_trades_the_venue_its_urls_name(tmp_path):
    spec = SymbolSpec("SOLUSDT", 150.0, tick_decimals=2, lot_decimals=2)
    async with SimMarket([SimListing("bybit-spot", spec)], seed=5, speed=10) as market:
        data = {
            "venues": [
                {
                    "venue": "bybit-spot",
                    "symbols": ["SOLUSDT"],
                    "ws_url": market.ws_url("bybit-spot"),
                }
            ],
            "symbols": [
                {
                    "symbol": "SOLUSDT",
                    "venue": "bybit-spot",
                    "quote": {
                        "tick_size": 0.01,
                        "lot_size": 0.01,
                        "base_size": 1.0,
                        "max_position": 5.0,
                    },
                    "risk": {"max_notional": 3000.0, "max_drawdown": 100.0},
                }
            ],
        }
        cfg = load_run_config(data, env={})
        options = RunOptions(tmp_path / "run", duration_s=2.0, headless=True)
        result = await run_trading([Feed(f) for f in cfg.feeds], cfg.setups, cfg.llm, options)
    assert result.summary.quotes > 0
    assert result.report.exists()
