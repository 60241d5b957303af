"""The PnL decomposition on hand-computed cases, and its identity with the portfolio's PnL."""

from __future__ import annotations

import math
from typing import NamedTuple

import pytest

from mmcore.analytics.pnl import (
    Interval,
    MidPath,
    decompose,
    decompose_path,
    markouts,
    split_by_intervals,
)
from mmcore.portfolio import Portfolio


class F(NamedTuple):
    t: float
    sign: int
    price: float
    qty: float
    fee: float
    mid: float


# mid 100, 102 at 1 s, 101 at 2 s, 104 at 5 s (the end); we buy 2 @ 99.5 at 0.5 s (mid 100,
# fee 0.1) and sell 1 @ 102.5 at 1.5 s (mid 102, rebate 0.05)
MIDS = [(0.0, 100.0), (1.0, 102.0), (2.0, 101.0), (5.0, 104.0)]
FILLS = [F(0.5, 1, 99.5, 2.0, 0.1, 100.0), F(1.5, -1, 102.5, 1.0, -0.05, 102.0)]


def _path() -> MidPath:
    return MidPath(MIDS + [(f.t, f.mid) for f in FILLS])


def test_parts_at_the_end_match_the_hand_computation():
    parts = decompose(FILLS, _path(), horizon_s=1.0)
    # spread: 2*(100-99.5) + -1*(102-102.5); adverse: 2*(m(1.5)=102 - 100) + -1*(m(2.5)=101 - 102)
    # inventory: 2*(104 - 102) + -1*(104 - 101); fees: -(0.1 - 0.05)
    assert parts.spread == pytest.approx(1.5, abs=1e-12)
    assert parts.adverse == pytest.approx(5.0, abs=1e-12)
    assert parts.inventory == pytest.approx(1.0, abs=1e-12)
    assert parts.fees == pytest.approx(-0.05, abs=1e-12)
    assert parts.total == pytest.approx(7.45, abs=1e-12)


def test_the_parts_add_up_to_the_portfolio_net_pnl():
    pf = Portfolio()
    pf.instrument("X", 0.01, 1e-8)
    for f in FILLS:
        pf.apply_fill("X", f.sign * f.qty, f.price, f.fee)
    pf.mark("X", MIDS[-1][1])
    assert decompose(FILLS, _path(), 1.0).total == pytest.approx(pf.equity, abs=1e-12)


def test_the_path_counts_only_fills_made_by_then_and_caps_young_markouts():
    path = decompose_path(FILLS, _path(), 1.0, [0.2, 1.0, 2.0, 5.0])
    assert list(path.spread) == pytest.approx([0.0, 1.0, 1.5, 1.5])
    # at 1 s the buy is 0.5 s old: its markout runs to now (mid 102), no inventory part yet
    assert list(path.adverse) == pytest.approx([0.0, 4.0, 5.0, 5.0])
    assert list(path.inventory) == pytest.approx([0.0, 0.0, -2.0, 1.0])
    assert list(path.fees) == pytest.approx([0.0, -0.1, -0.05, -0.05])
    assert list(path.total) == pytest.approx([0.0, 4.9, 4.45, 7.45])


def test_horizon_zero_leaves_no_adverse_part():
    parts = decompose(FILLS, _path(), horizon_s=0.0)
    assert (parts.spread, parts.adverse) == pytest.approx((1.5, 0.0))
    assert parts.inventory == pytest.approx(6.0)


def test_markouts_are_capped_at_the_end_and_match_the_adverse_part():
    one, ten = markouts(FILLS, _path(), [1.0, 10.0])
    assert one.pnl == pytest.approx(decompose(FILLS, _path(), 1.0).adverse)
    assert one.capped == 0
    # 10 s: both run to the end (mid 104): 2*(104-100) + -1*(104-102)
    assert ten.pnl == pytest.approx(6.0) and ten.capped == 2
    assert ten.mean_bps == pytest.approx((400.0 - 2 / 102 * 1e4) / 2)


def test_no_fills_gives_zeros_and_nan_mean():
    assert decompose([], _path()) == (0.0, 0.0, 0.0, 0.0)
    assert math.isnan(markouts([], _path(), [1.0])[0].mean_bps)


@pytest.mark.parametrize(
    ("fill", "field"),
    [
        (F(0.5, 1, math.nan, 1.0, 0.0, 100.0), "fill.price"),
        (F(0.5, 1, 100.0, 1.0, 0.0, math.nan), "fill.mid"),
        (F(0.5, 0, 100.0, 1.0, 0.0, 100.0), "fill.sign"),
        (F(6.0, 1, 100.0, 1.0, 0.0, 100.0), "fill.t"),
    ],
)
def test_bad_fills_are_refused_naming_the_field(fill, field):
    with pytest.raises(ValueError, match=field):
        decompose([fill], MidPath(MIDS))


def test_bad_horizon_times_and_mids_are_refused():
    with pytest.raises(ValueError, match="horizon_s"):
        decompose(FILLS, _path(), horizon_s=-1.0)
    with pytest.raises(ValueError, match="times"):
        decompose_path(FILLS, _path(), 1.0, [2.0, 1.0])
    with pytest.raises(ValueError, match="mids"):
        MidPath([(0.0, math.nan)])


def test_split_by_intervals_puts_each_fill_on_one_side_and_the_halves_add_up():
    marked = [Interval("X", 1.0, 1.5, "informed flow")]
    inside, outside = split_by_intervals(FILLS, marked)
    assert inside == [FILLS[1]] and outside == [FILLS[0]]  # 1.5 is inside: ends included
    assert split_by_intervals(FILLS, []) == ([], FILLS)
    mids = _path()
    halves = [decompose(half, mids, 1.0) for half in (inside, outside)]
    whole = decompose(FILLS, mids, 1.0)
    for part in range(4):
        assert halves[0][part] + halves[1][part] == pytest.approx(whole[part], abs=1e-12)
    assert Interval("X", 1.0, 2.0, "l").shifted(-0.5) == Interval("X", 0.5, 1.5, "l")
