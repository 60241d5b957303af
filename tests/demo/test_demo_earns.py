"""The default demo earns the spread on the fair simulated market (issue 20, B8).

Seeds 1-10 of the demo's own configuration (:func:`mmcore.demo.demo_setups` on
:data:`mmcore.demo.DEMO_LISTINGS`, 60 simulated seconds each) run in simulated time through
:func:`mmcore.sim.backtest.run_backtest`: the same engines, paper venues and rules advisors as
``python -m mmcore``, without the wall clock.
"""

from __future__ import annotations

import statistics

import pytest

from mmcore.demo import DEMO_LISTINGS, demo_setups
from mmcore.sim.backtest import BacktestResult, run_backtest

SEEDS = range(1, 11)


@pytest.fixture(scope="module")
def runs() -> list[BacktestResult]:
    return [run_backtest(DEMO_LISTINGS, demo_setups(), seed=seed) for seed in SEEDS]


def test_median_net_pnl_is_positive_and_the_kill_switch_never_trips(runs):
    assert statistics.median(r.net_pnl for r in runs) > 0
    assert [r.seed for r in runs if r.kill_switch_trips] == []


def test_inventory_stays_mostly_within_half_its_limit(runs):
    """Sampled every 0.1 s: in every run, for every symbol, most of the time |inventory| is at
    most half the limit, and it never exceeds the limit."""
    for r in runs:
        for s in r.symbols.values():
            assert s.within_half_frac > 0.5, (r.seed, s)
            assert s.max_inventory_frac <= 1.0 + 1e-9, (r.seed, s)


def test_fees_are_covered_by_the_spread_captured(runs):
    captured = sum(s.spread_captured for r in runs for s in r.symbols.values())
    fees = sum(s.fees for r in runs for s in r.symbols.values())
    assert fees > 0 and captured > fees


def test_informed_episodes_are_stated_and_priced_as_adverse_selection(runs):
    episodes = [e for r in runs for e in r.episodes]
    assert episodes and all(e.end > e.start and e.direction in (-1, 1) for e in episodes)
    # fills inside an episode are marked and their markout is counted on its own
    informed = [s.adverse_selection_informed for r in runs for s in r.symbols.values()]
    assert any(x != 0.0 for x in informed)
