"""One short real run of the default command, shared by the report tests, and a trader on
a feed that never connects (for runs without quotes and for engine replays)."""

from __future__ import annotations

import asyncio
import csv
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

from mmcore.advisors.factory import AdvisorRuntime, build_advisor_service
from mmcore.analytics.pnl import Interval, MidPath, decompose_path
from mmcore.demo import run_demo
from mmcore.feeds import Feed, FeedConfig
from mmcore.journal import Journal
from mmcore.llm.config import load_llm_config
from mmcore.runner import RunOptions, RunResult
from mmcore.trader import SymbolSetup, Trader
from mmcore.ui.recorder import Recorder
from mmcore.ui.report import DECOMPOSITION_HORIZON_S, RunSummary, write_report


@pytest.fixture(scope="session")
def demo_run(tmp_path_factory: pytest.TempPathFactory) -> RunResult:
    """A 4 s run of the simulated market at 10x speed (report, CSVs, journal written)."""
    out: Path = tmp_path_factory.mktemp("report") / "run"
    result = asyncio.run(run_demo(RunOptions(out, duration_s=4.0, headless=True), speed=10))
    assert result.summary.fills > 0, "the run made no fill: nothing to decompose"
    return result


@dataclass
class OfflineRun:
    """A trader on a feed that never connects, with its recorder, journal and advisors."""

    trader: Trader
    recorder: Recorder
    journal: Journal
    runtime: AdvisorRuntime

    async def report(
        self, out: Path, reason: str, intervals: Sequence[Interval] = ()
    ) -> tuple[RunSummary, Path]:
        """Shut down as the runner does and write the report into ``out``."""
        self.trader.shutdown()
        usage = await self.runtime.aclose()
        self.journal.close()
        return write_report(
            out,
            self.trader,
            self.recorder,
            self.runtime,
            reason=reason,
            usage=usage,
            intervals=intervals,
        )


async def offline_run(out: Path, setup: SymbolSetup) -> OfflineRun:
    """An :class:`OfflineRun` trading ``setup`` with its journal in ``out``."""
    never_connected = Feed(
        FeedConfig(
            venue=setup.venue,
            symbols=(setup.symbol,),
            ws_url="ws://127.0.0.1:9/",
            rest_url="http://127.0.0.1:9/",
        )
    )
    journal = Journal(out / "journal.sqlite")
    runtime = await build_advisor_service(load_llm_config(None, {}))
    trader = Trader([never_connected], [setup], journal=journal, advisors=runtime.service)
    return OfflineRun(trader, Recorder(trader), journal, runtime)


class Row:
    """A CSV row with numeric fields as floats (the CSVs hold Python's repr of each float)."""

    def __init__(self, row: dict[str, str]) -> None:
        for k, v in row.items():
            try:
                setattr(self, k, int(v) if k == "sign" else float(v))
            except ValueError:
                setattr(self, k, v)


def read_csv(path: Path) -> list[Row]:
    """The rows of a report CSV."""
    with path.open() as fh:
        return [Row(r) for r in csv.DictReader(fh)]


def assert_decomposition_matches_samples(out: Path) -> None:
    """The decomposition of ``fills.csv`` at each sample of ``samples.csv`` equals the net PnL
    sampled then (so the samples' marks are the marks PnL was measured against)."""
    samples = read_csv(out / "samples.csv")
    fills = read_csv(out / "fills.csv")
    for symbol in {r.symbol for r in samples}:
        mine = [r for r in samples if r.symbol == symbol]
        filled = [f for f in fills if f.symbol == symbol]
        mids = MidPath([(f.t, f.mid) for f in filled] + [(r.t, r.mark) for r in mine])
        times = [r.t for r in mine if r.t <= mids.end]
        path = decompose_path(filled, mids, DECOMPOSITION_HORIZON_S, times)
        sampled = np.array([r.pnl for r in mine[: len(times)]])
        worst = np.abs(path.total - sampled).max()
        assert worst < 1e-9 * max(1.0, np.abs(sampled).max()), (symbol, worst)
