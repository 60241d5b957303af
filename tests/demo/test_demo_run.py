"""`python -m mmcore` end to end in fast time, and a run whose relay hangs or sends garbage."""

from __future__ import annotations

import csv
import math
import re
import sqlite3
import subprocess
import sys
from pathlib import Path

from mmcore.demo import demo_setups, run_demo
from mmcore.execution import ACTIVE_STATUSES, OrderStatus
from mmcore.runner import RunOptions
from mmcore.testing.fake_relay import FakeRelay, completion, hang, html_error
from mmcore.ui.plots import PANELS

LIMITS = {s.symbol: s.risk.max_position for s in demo_setups()}


def _samples(out: Path) -> list[dict[str, str]]:
    with (out / "samples.csv").open() as fh:
        return list(csv.DictReader(fh))


def test_default_command_trades_the_simulated_market(tmp_path: Path):
    out = tmp_path / "run"
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "mmcore",
            "--duration",
            "5",
            "--speed",
            "10",
            "--headless",
            "--out",
            str(out),
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert f"report: {out / 'report.html'}" in result.stdout
    printed_fills = int(re.search(r"(\d+) fills", result.stdout).group(1))
    assert printed_fills > 0

    rows = _samples(out)
    for symbol, limit in LIMITS.items():
        mine = [r for r in rows if r["symbol"] == symbol]
        assert any(r["feed_state"] == "synced" for r in mine), f"{symbol} never synced"
        assert any(r["our_bid"] != "nan" and r["our_ask"] != "nan" for r in mine), symbol
        assert max(abs(float(r["position"])) for r in mine) <= limit + 1e-12

    with sqlite3.connect(out / "journal.sqlite") as conn:
        journaled = conn.execute("SELECT count(*) FROM fills").fetchone()[0]
        statuses = [row[0] for row in conn.execute("SELECT status FROM orders")]
    open_orders = [s for s in statuses if OrderStatus(s) in ACTIVE_STATUSES]
    assert journaled == printed_fills  # every fill the engines saw is in the journal
    assert statuses and not open_orders  # shutdown cancelled everything

    with (out / "summary.csv").open() as fh:
        summary = next(csv.DictReader(fh))
    assert int(summary["journal_fills"]) == int(summary["fills"]) == printed_fills
    html = (out / "report.html").read_text()
    assert html.count("/* BEGIN bokeh.min.js */") == 1  # the plots' code, inlined once
    for title in PANELS:  # drawn in a browser by tests/report
        assert title in html
    assert "max_drawdown" in html and "markout_1s_bps" in html
    with (out / "sim_episodes.csv").open() as fh:  # the sim's informed episodes, stated
        episodes = list(csv.DictReader(fh))
    assert all(float(e["end_s"]) > float(e["start_s"]) for e in episodes)
    assert {e["symbol"] for e in episodes} <= set(LIMITS)


async def test_a_hanging_or_garbage_relay_does_not_stop_quoting(tmp_path: Path):
    steps = [hang(), completion("this is not json"), html_error(502), hang()]
    with FakeRelay(default=completion("{{{")) as relay:
        relay.script(*steps)
        env = {
            "MMCORE_LLM_BASE_URL": relay.base_url,
            "MMCORE_LLM_API_KEY": "sk-test-not-a-real-key",
            "MMCORE_LLM_TIMEOUTS_DEADLINE_S": "1",
            "MMCORE_LLM_TIMEOUTS_FIRST_BYTE_S": "0.5",
            "MMCORE_LLM_ADVISOR_MIN_INTERVAL_S": "0",
            "MMCORE_LLM_MODELS_SIGNAL": "deepseek/v3-2",
            "MMCORE_LLM_MODELS_RISK": "deepseek/v3-2",
        }
        options = RunOptions(tmp_path / "run", duration_s=3.0, headless=True)
        result = await run_demo(options, speed=10, env=env)
        asked = len(relay.chat_requests)
    s = result.summary
    assert s.llm_mode == "relay" and asked > 0
    assert s.llm_calls > 0
    assert s.quotes > 100 and s.fills > 0  # quotes kept flowing while the relay misbehaved
    rows = _samples(result.out_dir)
    late = [r for r in rows if float(r["t"]) > 1.5]
    assert any(r["our_bid"] != "nan" for r in late) and any(r["our_ask"] != "nan" for r in late)
    assert all(math.isnan(float(r["advice_spread_bps"])) for r in rows)  # no bad advice used
