"""`python -m mmcore` end to end in fast time, and a run whose relay hangs or sends garbage."""

from __future__ import annotations

import asyncio
import csv
import math
import re
import signal
import sqlite3
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

from tests.child_lines import lines_within

from mmcore.demo import demo_setups, run_demo
from mmcore.execution import ACTIVE_STATUSES, OrderStatus
from mmcore.runner import RunOptions
from mmcore.stopping import StopSignals
from mmcore.testing.fake_relay import FakeRelay, completion, hang, html_error
from mmcore.ui.plots import PANELS

TIMEOUT_S = 60.0  # per status line, for the exit, and for the relay run's conditions
LIMITS = {s.symbol: s.risk.max_position for s in demo_setups()}


def _counts(journal: Path) -> tuple[int, int]:
    """(orders, fills) journalled so far (0, 0 before the journal exists)."""
    if not journal.exists():
        return 0, 0
    with sqlite3.connect(f"file:{journal}?mode=ro", uri=True) as conn:
        orders = conn.execute("SELECT count(*) FROM orders").fetchone()[0]
        fills = conn.execute("SELECT count(*) FROM fills").fetchone()[0]
    return orders, fills


def _samples(out: Path) -> list[dict[str, str]]:
    with (out / "samples.csv").open() as fh:
        return list(csv.DictReader(fh))


def test_default_command_trades_the_simulated_market(tmp_path: Path):
    """Run until every symbol has quoted both sides and something filled (read from the
    headless lines, each within a deadline), then Ctrl-C: the run ends cleanly."""
    out = tmp_path / "run"
    cmd = [sys.executable, "-m", "mmcore", "--duration", "120", "--speed", "10", "--headless"]
    child = subprocess.Popen([*cmd, "--out", str(out)], stdout=subprocess.PIPE)
    two_sided: set[str] = set()
    filled = False
    try:
        assert child.stdout is not None
        lines = lines_within(child.stdout, TIMEOUT_S)
        for line in lines:
            fields = dict(f.split("=", 1) for f in line.split() if "=" in f)
            if "symbol" in fields and "nan" not in (fields["our_bid"], fields["our_ask"]):
                two_sided.add(fields["symbol"])
            filled = filled or float(fields.get("inventory", 0)) != 0
            if two_sided == set(LIMITS) and filled:
                break
        assert two_sided == set(LIMITS) and filled, f"exited early: {two_sided} {filled}"
        child.send_signal(signal.SIGINT)
        stdout = "\n".join(lines)
        assert child.wait(TIMEOUT_S) == 0, stdout
    finally:
        child.kill()
        child.wait()
    assert "mmcore: stopped (interrupted)" in stdout
    assert f"report: {out / 'report.html'}" in stdout
    printed_fills = int(re.search(r"(\d+) fills", stdout).group(1))
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
        options = RunOptions(tmp_path / "run", duration_s=None, headless=True)
        stop = StopSignals()

        async def until(condition: Callable[[], bool]) -> None:
            deadline = asyncio.get_running_loop().time() + TIMEOUT_S
            while not condition():
                assert asyncio.get_running_loop().time() < deadline, _counts(journal)
                await asyncio.sleep(0.05)  # polls the condition

        journal = options.out_dir / "journal.sqlite"

        async def stop_once_quoting_went_on_after_every_failure() -> None:
            try:
                await until(lambda: len(relay.chat_requests) > len(steps))  # all were served
                orders, fills = _counts(journal)
                await until(lambda: (c := _counts(journal))[0] > orders + 50 and c[1] > fills)
            finally:  # also when a condition timed out: the run must end either way
                stop.receive(signal.SIGINT)

        watcher = asyncio.create_task(stop_once_quoting_went_on_after_every_failure())
        result = await run_demo(options, speed=10, env=env, stop=stop)
        await watcher
        asked = len(relay.chat_requests)
    s = result.summary
    assert result.reason == "interrupted"
    assert s.llm_mode == "relay" and asked > len(steps)
    assert s.llm_calls > 0
    assert s.quotes > 100 and s.fills > 0  # quotes kept flowing while the relay misbehaved
    rows = _samples(result.out_dir)
    assert any(r["our_bid"] != "nan" for r in rows) and any(r["our_ask"] != "nan" for r in rows)
    assert all(math.isnan(float(r["advice_spread_bps"])) for r in rows)  # no bad advice used
