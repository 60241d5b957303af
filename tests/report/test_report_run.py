"""On a real run: the PnL decomposition adds up to the summary's total PnL, at the end and at
every sample, and each part is what the written fills say."""

from __future__ import annotations

import pytest

from mmcore.runner import RunResult

from .conftest import assert_decomposition_matches_samples, read_csv


def test_the_decomposition_adds_up_to_the_summary_pnl(demo_run: RunResult):
    s = demo_run.summary
    parts = s.pnl_spread + s.pnl_adverse + s.pnl_inventory - s.fees
    assert parts == pytest.approx(s.pnl, rel=0, abs=1e-9 * max(1.0, s.volume))
    assert s.realized + s.unrealized - s.fees == pytest.approx(s.pnl, rel=0, abs=1e-9 * s.volume)

    fills = read_csv(demo_run.out_dir / "fills.csv")
    assert len(fills) == s.fills == s.journal_fills
    spread = sum(f.sign * (f.mid - f.price) * f.qty for f in fills)
    assert s.pnl_spread == pytest.approx(spread, rel=0, abs=1e-9 * s.volume)
    assert s.fees == pytest.approx(sum(f.fee for f in fills), rel=0, abs=1e-12 * s.volume)
    for f in fills:  # the mid at fill is that symbol's mid, not a stray number
        assert abs(f.mid - f.price) / f.price < 0.01, vars(f)


def test_the_decomposition_equals_the_sampled_pnl_at_every_sample(demo_run: RunResult):
    assert_decomposition_matches_samples(demo_run.out_dir)
