"""Issue 20, section A and B2: the execution core fails closed.

The reproductions of section A run through the public Python API: a ghost order left by float
fill sums, and a pre-trade gate that let NaN positions and limits through. Then every argument
of the gate, the desk and the portfolio fed NaN, ±inf and negative values: refused with a
ValueError naming it, nothing allowed or changed.
"""

from __future__ import annotations

import math

import pytest

from mmcore._core import OrderDesk, PreTradeGate

BAD = [math.nan, math.inf, -math.inf]
BUY, SELL = 1, -1


class Recorder:
    """A venue that records what the desk sends."""

    def __init__(self) -> None:
        self.sent: list[tuple] = []

    def send_order(self, *args) -> None:
        self.sent.append(("order", *args))

    def send_cancel(self, *args) -> None:
        self.sent.append(("cancel", *args))


def gate() -> PreTradeGate:
    return PreTradeGate(
        max_notional=1e12, tick_size=0.01, lot_size=0.001, max_orders_per_s=100, order_burst=100
    )


# -- section A: the reproductions -----------------------------------------------------------


def test_a_fill_in_two_parts_leaves_no_ghost_order():
    """129579.556 filled as 34024.903 + the rest was left PartiallyFilled with 1.46e-11
    working: it must be Filled and leave the desk, and a later requote must not cancel it."""
    desk, venue = OrderDesk("X", "mm-X-", lot_size=0.001), Recorder()
    desk.reconcile([(100, 129579.556)], [], 100.0, 0.0, None, venue)
    desk.apply(2, "mm-X-1", 0.1, "f1", 34024.903)
    row, new = desk.apply(2, "mm-X-1", 0.2, "f2", 129579.556 - 34024.903)
    assert new and row is not None
    assert row[7] == 3  # Filled
    assert desk.orders() == [] and desk.working(BUY) == 0
    desk.reconcile([(90, 1.0)], [], 100.0, 0.3, None, venue)
    assert [s[0] for s in venue.sent] == ["order", "order"]  # no cancel of a ghost


@pytest.mark.parametrize("state", [0, 1])
@pytest.mark.parametrize("side", [BUY, SELL])
def test_a_nan_position_or_limit_halts_the_gate(state, side):
    """``set(0, nan, 1.0)`` then ``allow(±1, …)`` allowed the full size; so did a NaN limit and,
    in REDUCING, a NaN position in both directions. Now ``set`` refuses them naming the
    argument, and the gate allows nothing until a valid ``set``."""
    for position, limit, arg in [(math.nan, 1.0, "position"), (0.5, math.nan, "limit")]:
        g = gate()
        g.set(0, 0.5, 1.0)
        with pytest.raises(ValueError, match=arg):
            g.set(state, position, limit)
        assert g.allow(side, 100, 1.0, 0.0, 0.0) == 0.0
        assert g.refused == 1
        g.set(0, 0.0, 1.0)
        assert g.allow(side, 100, 1.0, 0.0, 0.0) == 1.0


@pytest.mark.parametrize("qty", [*BAD, -1.0])
def test_a_fill_of_a_bad_size_is_refused_and_changes_nothing(qty):
    desk, venue = OrderDesk("X", "mm-X-", lot_size=0.001), Recorder()
    desk.reconcile([(100, 1.0)], [], 100.0, 0.0, None, venue)
    before = desk.orders()
    with pytest.raises(ValueError, match="qty"):
        desk.apply(2, "mm-X-1", 0.1, "f1", qty)
    assert desk.orders() == before and desk.refused == 1
    row, new = desk.apply(2, "mm-X-1", 0.1, "f1", 1.0)  # the fill id was not burnt
    assert new and row[7] == 3
