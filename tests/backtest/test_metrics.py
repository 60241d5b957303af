"""The backtest's risk-adjusted figures on series worked out by hand."""

from __future__ import annotations

import math

import numpy as np
import pytest

from mmcore.backtest.metrics import SECONDS_PER_YEAR, interval_returns, ratios


def test_interval_returns_take_the_last_equity_at_or_before_each_edge() -> None:
    times = np.array([0.0, 0.5, 1.0, 1.7, 2.0, 2.9, 3.5])
    equity = np.array([0.0, 5.0, 1.0, 9.0, 4.0, 6.0, 8.0])
    # edges 0, 1, 2, 3: equity 0, 1, 4, 6 (3.5 is past the last whole interval)
    assert interval_returns(times, equity, 1.0).tolist() == [1.0, 3.0, 2.0]
    assert interval_returns(times[:1], equity[:1], 1.0).size == 0


def test_sharpe_and_sortino_are_annualised_from_the_interval() -> None:
    r = np.array([1.0, -1.0, 2.0, 0.0])
    sharpe, sortino = ratios(r, 60.0)
    scale = math.sqrt(SECONDS_PER_YEAR / 60.0)
    mean, std = 0.5, math.sqrt(((0.5**2) + (1.5**2) + (1.5**2) + (0.5**2)) / 3)
    assert sharpe == pytest.approx(mean / std * scale)
    assert sortino == pytest.approx(mean / math.sqrt(1.0 / 4) * scale)  # one loss of 1 in 4


def test_ratios_are_nan_where_undefined() -> None:
    assert all(math.isnan(x) for x in ratios(np.array([1.0]), 60.0))
    sharpe, sortino = ratios(np.array([1.0, 1.0, 1.0]), 60.0)
    assert math.isnan(sharpe) and math.isnan(sortino)  # no variation, no losing interval
    assert math.isnan(ratios(np.array([1.0, 2.0]), 60.0)[1])
