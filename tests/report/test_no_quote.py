"""A run that never quoted (stopped before any book synced): the report is still written and
every figure that does not exist yet says ``n/a`` (the stop line used to print ``p99 nanus``)."""

from __future__ import annotations

import math
import time
from pathlib import Path

import pytest

from mmcore.demo import demo_setups, print_result
from mmcore.runner import RunResult

from .conftest import offline_run


async def test_a_run_without_quotes_reports_n_a(tmp_path: Path, capsys: pytest.CaptureFixture):
    run = await offline_run(tmp_path, demo_setups()[0])
    run.recorder.sample(time.monotonic())
    summary, report = await run.report(tmp_path, "interrupted")
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
