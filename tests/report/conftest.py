"""One short real run of the default command, shared by the report tests."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from mmcore.demo import run_demo
from mmcore.runner import RunOptions, RunResult


@pytest.fixture(scope="session")
def demo_run(tmp_path_factory: pytest.TempPathFactory) -> RunResult:
    """A 4 s run of the simulated market at 10x speed (report, CSVs, journal written)."""
    out: Path = tmp_path_factory.mktemp("report") / "run"
    result = asyncio.run(run_demo(RunOptions(out, duration_s=4.0, headless=True), speed=10))
    assert result.summary.fills > 0, "the run made no fill: nothing to decompose"
    return result
