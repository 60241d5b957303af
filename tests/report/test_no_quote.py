"""A run that never quoted (stopped before any book synced): the report is still written and
every figure that does not exist yet says ``n/a`` (the stop line used to print ``p99 nanus``)."""

from __future__ import annotations

import math
import time
from pathlib import Path

import pytest

from mmcore.advisors.factory import build_advisor_service
from mmcore.demo import demo_setups, print_result
from mmcore.feeds import Feed, FeedConfig
from mmcore.journal import Journal
from mmcore.llm.config import load_llm_config
from mmcore.runner import RunResult
from mmcore.trader import Trader
from mmcore.ui.recorder import Recorder
from mmcore.ui.report import write_report


async def test_a_run_without_quotes_reports_n_a(tmp_path: Path, capsys: pytest.CaptureFixture):
    setup = demo_setups()[0]
    never_connected = Feed(
        FeedConfig(
            venue=setup.venue,
            symbols=(setup.symbol,),
            ws_url="ws://127.0.0.1:9/",
            rest_url="http://127.0.0.1:9/",
        )
    )
    journal = Journal(tmp_path / "journal.sqlite")
    runtime = await build_advisor_service(load_llm_config(None, {}))
    trader = Trader([never_connected], [setup], journal=journal, advisors=runtime.service)
    recorder = Recorder(trader)
    recorder.sample(time.monotonic())
    trader.shutdown()
    usage = await runtime.aclose()
    journal.close()

    summary, report = write_report(
        tmp_path, trader, recorder, runtime, reason="interrupted", usage=usage
    )
    assert summary.quotes == 0 and summary.fills == 0
    assert math.isnan(summary.tick_to_quote_p99_us)
    shown = dict(summary.rows())
    assert shown["tick_to_quote_p50_us"] == shown["tick_to_quote_p99_us"] == "n/a"
    assert (summary.pnl, summary.pnl_spread, summary.pnl_adverse, summary.pnl_inventory) == (
        0.0,
        0.0,
        0.0,
        0.0,
    )
    html = report.read_text()
    assert "n/a" in html and "nan" not in html.split("<script", 1)[0].lower()

    print_result(RunResult(tmp_path, report, summary, "interrupted"))
    line = capsys.readouterr().out
    assert "tick-to-quote p99 n/a" in line and "nan" not in line.lower()
