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
    desk.reconcile([(100, 129_579_556)], [], 100.0, 0.0, None, venue)  # lots of 0.001
    desk.apply(2, "mm-X-1", 0.1, "f1", 34024.903)
    row, new = desk.apply(2, "mm-X-1", 0.2, "f2", 129579.556 - 34024.903)
    assert new and row is not None
    assert row[7] == 3  # Filled
    assert desk.orders() == [] and desk.working(BUY) == 0
    desk.reconcile([(90, 1000)], [], 100.0, 0.3, None, venue)
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
    desk.reconcile([(100, 1000)], [], 100.0, 0.0, None, venue)
    before = desk.orders()
    with pytest.raises(ValueError, match="qty"):
        desk.apply(2, "mm-X-1", 0.1, "f1", qty)
    assert desk.orders() == before and desk.refused == 1
    row, new = desk.apply(2, "mm-X-1", 0.1, "f1", 1.0)  # the fill id was not burnt
    assert new and row[7] == 3


# -- B2: every argument fed NaN, ±inf and negative values ------------------------------------


GATE_ALLOW = {"qty": 1.0, "working": 0.0, "now": 0.0}


@pytest.mark.parametrize("arg", list(GATE_ALLOW))
@pytest.mark.parametrize("value", [*BAD, -1.0])
def test_the_gate_refuses_bad_allow_arguments_and_takes_no_token(arg, value):
    if arg == "now" and value == -1.0:
        pytest.skip("a negative time is a time (the bucket ignores time going back)")
    g = PreTradeGate(
        max_notional=1e12, tick_size=0.01, lot_size=0.001, max_orders_per_s=1, order_burst=1
    )
    g.set(0, 0.0, 10.0)
    with pytest.raises(ValueError, match=arg):
        g.allow(BUY, 100, **{**GATE_ALLOW, arg: value})
    assert g.refused == 1
    assert g.allow(BUY, 100, **GATE_ALLOW) == 1.0  # the one token is still there


@pytest.mark.parametrize("arg", ["position", "limit"])
@pytest.mark.parametrize("value", [*BAD, -1.0])
def test_the_gate_refuses_bad_set_arguments_and_halts(arg, value):
    if arg == "position" and value == -1.0:
        pytest.skip("a short position is a position")
    g = gate()
    g.set(0, 0.5, 1.0)
    with pytest.raises(ValueError, match=arg):
        g.set(0, **{"position": 0.5, "limit": 1.0, arg: value})
    assert g.state == 2 and g.position == 0.5 and g.refused == 1
    assert g.allow(BUY, 100, 0.1, 0.0, 0.0) == 0.0 == g.allow(SELL, 100, 0.1, 0.0, 0.0)


def test_the_gate_allows_only_when_room_is_positive():
    g = gate()
    g.set(0, 0.999, 1.0)
    assert g.allow(BUY, 100, 1.0, 0.0, 0.0) == 0.001  # one lot of room
    g.set(0, 1.0, 1.0)  # at the limit
    assert g.allow(BUY, 100, 1.0, 0.0, 0.0) == 0.0
    g.set(0, 0.5, 1.0)  # working orders already fill the room, and beyond
    assert g.allow(BUY, 100, 1.0, 0.5, 0.0) == 0.0 == g.allow(BUY, 100, 1.0, 0.7, 0.0)


RECONCILE = {"fair_ticks": 100.0, "now": 0.0}


@pytest.mark.parametrize("arg", ["bids", "asks", *RECONCILE])
@pytest.mark.parametrize("value", [*BAD, -1.0, -1, 2**53 + 1, 1.0])
def test_the_desk_refuses_bad_reconcile_arguments_and_sends_nothing(arg, value):
    """Target sizes are integer lots: a float is a TypeError, a negative or too large one a
    ValueError; the fair value and the time are floats that must be finite."""
    sizes = arg in ("bids", "asks")
    if not sizes and (value == 1.0 or isinstance(value, int) or (arg, value) == ("now", -1.0)):
        pytest.skip("a value the fair value or the time may have")
    desk, venue = OrderDesk("X", "mm-X-", lot_size=0.001), Recorder()
    desk.reconcile([(99, 1000)], [(101, 1000)], 100.0, 0.0, None, venue)
    before, sent = desk.orders(), list(venue.sent)
    kwargs = {"bids": [(98, 1000)], "asks": [(102, 1000)], **RECONCILE}
    if sizes:
        kwargs[arg] = [(97 if arg == "bids" else 103, value)]
    else:
        kwargs[arg] = value
    error = TypeError if sizes and isinstance(value, float) else ValueError
    with pytest.raises(error, match=arg):
        desk.reconcile(gate=None, venue=venue, **kwargs)
    assert desk.orders() == before and venue.sent == sent and desk.refused == 1


@pytest.mark.parametrize("value", [*BAD, -1.0])
def test_the_desk_refuses_bad_restored_sizes(value):
    desk = OrderDesk("X", "mm-X-", lot_size=0.001)
    for field in (3, 4):
        row = ["mm-X-1", 1, 100, 1.0, 0.0, 0.0, 0.0, 1, "", 0]
        row[field] = value
        with pytest.raises(ValueError, match="qty" if field == 3 else "filled"):
            desk.restore([tuple(row)], 1)
        assert desk.orders() == []


def test_a_fill_with_a_bad_time_is_refused():
    desk, venue = OrderDesk("X", "mm-X-", lot_size=0.001), Recorder()
    desk.reconcile([(100, 1000)], [], 100.0, 0.0, None, venue)
    for ts in BAD:
        with pytest.raises(ValueError, match="ts"):
            desk.apply(2, "mm-X-1", ts, "f1", 1.0)
    assert desk.orders()[0][4] == 0.0 and desk.refused == 3


def test_a_python_gate_answering_nan_vetoes_by_error():
    desk, venue = OrderDesk("X", "mm-X-", lot_size=0.001), Recorder()
    with pytest.raises(ValueError, match="gate"):
        desk.reconcile([(100, 1000)], [], 100.0, 0.0, lambda *a: math.nan, venue)
    assert desk.orders() == [] and venue.sent == []


def test_a_desk_and_gate_counting_different_lots_are_refused():
    desk, venue = OrderDesk("X", "mm-X-", lot_size=0.01), Recorder()
    with pytest.raises(ValueError, match="lot_size"):
        desk.reconcile([(100, 1000)], [], 100.0, 0.0, gate(), venue)
    assert venue.sent == []


# -- the quote model -------------------------------------------------------------------------


class Book:
    """A features record with a two-sided book."""

    best_bid, best_ask, mid, microprice, imbalance = 100.0, 100.1, 100.05, 100.05, 0.0


QUOTE_ARGS = {"position": 0.0, "now": 1.0, "spread_mult": 1.0, "size_mult": 1.0, "limit_mult": 1.0}


@pytest.mark.parametrize("arg", [*QUOTE_ARGS, "best_bid", "best_ask", "mid", "microprice"])
@pytest.mark.parametrize("value", [*BAD, -1.0])
def test_the_quote_model_refuses_bad_inputs(arg, value):
    from mmcore._core import QuoteCore

    if (arg == "position" and value == -1.0) or (arg == "now" and value == -1.0):
        pytest.skip("a short position and a negative time are valid")
    if value != value and arg in ("best_bid", "best_ask", "mid", "microprice"):
        pytest.skip("NaN marks an absent book field")
    q = QuoteCore(0.01, 0.001, 1.0, 10.0)
    features, kwargs = Book(), dict(QUOTE_ARGS)
    if arg in QUOTE_ARGS:
        kwargs[arg] = value
    else:
        setattr(features, arg, value)
    with pytest.raises(ValueError, match=arg):
        q.decide(features, **kwargs)
    assert q.refused == 1
    assert q.decide(Book(), **QUOTE_ARGS)[0] == 0  # still quoting


# -- the portfolio ---------------------------------------------------------------------------


@pytest.mark.parametrize("arg", ["signed_qty", "price", "fee"])
@pytest.mark.parametrize("value", [*BAD, -1.0])
def test_the_portfolio_refuses_bad_fills(arg, value):
    from mmcore.portfolio import Portfolio

    if value == -1.0 and arg in ("signed_qty", "fee"):
        pytest.skip("a sell and a rebate are valid")
    p = Portfolio()
    p.instrument("X", 0.01, 1e-8)
    p.apply_fill("X", 1.0, 100.0, 0.01)
    before = p.position("X").snapshot()
    fill = {"signed_qty": 1.0, "price": 101.0, "fee": 0.01, arg: value}
    with pytest.raises(ValueError, match=arg):
        p.apply_fill("X", **fill)
    assert p.position("X").snapshot() == before and p.refused == 1


@pytest.mark.parametrize("value", [math.inf, -math.inf, -1.0])
def test_the_portfolio_refuses_bad_marks_and_ignores_nan(value):
    from mmcore.portfolio import Portfolio

    p = Portfolio()
    p.mark("X", 100.0)
    with pytest.raises(ValueError, match="mid"):
        p.mark("X", value)
    p.mark("X", math.nan)
    assert p.position("X").mark == 100.0 and p.refused == 1
    with pytest.raises(ValueError, match="cash"):
        Portfolio(math.nan)
