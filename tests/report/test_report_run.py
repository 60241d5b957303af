"""On a real run: the PnL decomposition adds up to the summary's total PnL, at the end and at
every sample, and each part is what the written fills say."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest

from mmcore.analytics.pnl import MidPath, decompose_path
from mmcore.runner import RunResult
from mmcore.ui.report import DECOMPOSITION_HORIZON_S


class Row:
    """A CSV row with numeric fields as floats (the CSVs hold Python's repr of each float)."""

    def __init__(self, row: dict[str, str]) -> None:
        for k, v in row.items():
            try:
                setattr(self, k, float(v) if k != "sign" else int(v))
            except ValueError:
                setattr(self, k, v)


def _csv(path: Path) -> list[Row]:
    with path.open() as fh:
        return [Row(r) for r in csv.DictReader(fh)]


def test_the_decomposition_adds_up_to_the_summary_pnl(demo_run: RunResult):
    s = demo_run.summary
    parts = s.pnl_spread + s.pnl_adverse + s.pnl_inventory - s.fees
    assert parts == pytest.approx(s.pnl, rel=0, abs=1e-9 * max(1.0, s.volume))
    assert s.realized + s.unrealized - s.fees == pytest.approx(s.pnl, rel=0, abs=1e-9 * s.volume)

    fills = _csv(demo_run.out_dir / "fills.csv")
    assert len(fills) == s.fills == s.journal_fills
    spread = sum(f.sign * (f.mid - f.price) * f.qty for f in fills)
    assert s.pnl_spread == pytest.approx(spread, rel=0, abs=1e-9 * s.volume)
    assert s.fees == pytest.approx(sum(f.fee for f in fills), rel=0, abs=1e-12 * s.volume)
    for f in fills:  # the mid at fill is that symbol's mid, not a stray number
        assert abs(f.mid - f.price) / f.price < 0.01, vars(f)


def test_the_decomposition_equals_the_sampled_pnl_at_every_sample(demo_run: RunResult):
    samples = _csv(demo_run.out_dir / "samples.csv")
    fills = _csv(demo_run.out_dir / "fills.csv")
    for symbol in {r.symbol for r in samples}:
        mine = [r for r in samples if r.symbol == symbol]
        filled = [f for f in fills if f.symbol == symbol]
        mids = MidPath([(r.t, r.mark) for r in mine] + [(f.t, f.mid) for f in filled])
        times = [r.t for r in mine if r.t <= mids.end]
        path = decompose_path(filled, mids, DECOMPOSITION_HORIZON_S, times)
        sampled = np.array([r.pnl for r in mine[: len(times)]])
        assert np.abs(path.total - sampled).max() < 1e-9 * max(1.0, np.abs(sampled).max()), symbol
