"""The portfolio in integer lots with exact cash: no drift over many fills, the grid enforced,
the integers restored exactly from the journal."""

from __future__ import annotations

import math
import random
import sqlite3
from fractions import Fraction

import pytest

from mmcore.execution.orders import OrderFilled, Side
from mmcore.journal import Journal, load_state
from mmcore.portfolio import Portfolio, PositionSnapshot

DOGE_TICK = 0.00001
DOGE_LOT = 0.001
ORDER_LOTS = 129_579_556  # 129579.556 DOGE


def doge() -> Portfolio:
    p = Portfolio()
    p.instrument("DOGEUSDT", DOGE_TICK, DOGE_LOT)
    return p


def splits(total: int, parts: int, rng: random.Random) -> list[int]:
    """``total`` lots in ``parts`` positive parts."""
    cuts = sorted(rng.sample(range(1, total), parts - 1))
    return [b - a for a, b in zip([0, *cuts], [*cuts, total], strict=True)]


def test_many_small_doge_fills_leave_an_exactly_flat_position_and_exact_pnl():
    """A float portfolio ends such round trips with a residue (about 1e-11 DOGE) and a
    realized PnL off in its last digits; the integer one is exact."""
    rng = random.Random(20)
    p = doge()
    cash = 0  # tick-lot units, the test's own exact books
    for _ in range(20):  # round trips of one DOGE-sized order, bought and sold in parts
        for side in (1, -1):
            for lots in splits(ORDER_LOTS, rng.randint(2, 40), rng):
                ticks = rng.randint(12_000, 12_500)
                p.apply_fill("DOGEUSDT", side * lots * DOGE_LOT, ticks * DOGE_TICK, 0.0)
                cash -= side * lots * ticks
        pos = p.position("DOGEUSDT")
        assert pos.qty == 0.0 and pos.lots == 0 and pos.avg_cost == 0.0
        assert pos.realized == float(Fraction(cash, 100_000 * 1_000))
    assert math.copysign(1.0, pos.qty) == 1.0  # not even a negative zero


def test_the_first_split_of_the_ghost_order_closes_exactly():
    """The issue's reproduction: 129579.556 bought as 34024.903 plus the remainder, sold in
    one: flat, and the PnL is exactly size x price move."""
    p = doge()
    p.apply_fill("DOGEUSDT", 34024.903, 0.12345, 0.0)
    p.apply_fill("DOGEUSDT", 129579.556 - 34024.903, 0.12345, 0.0)
    pnl = p.apply_fill("DOGEUSDT", -129579.556, 0.12401, 0.0)
    assert p.position("DOGEUSDT").qty == 0.0
    assert pnl == p.position("DOGEUSDT").realized == float(Fraction(129_579_556 * 56, 10**8))


def test_fees_add_up_exactly_at_the_fee_scale():
    p = doge()
    for _ in range(1000):
        p.apply_fill("DOGEUSDT", 1.0, 0.1, 0.001)
    p.apply_fill("DOGEUSDT", 0.0, 0.1, -0.0005)  # a rebate
    assert p.position("DOGEUSDT").fees == 0.9995 and p.fees == 0.9995


@pytest.mark.parametrize(
    ("fill", "field"),
    [
        ((0.0005, 0.12345), "signed_qty"),
        ((1.0, 0.123455), "price"),
        ((1.0, 0.000001), "price"),
        ((1.0, 1e-15), "price"),  # within float rounding of the grid, but zero ticks
    ],
)
def test_a_fill_off_the_grid_is_refused_and_changes_nothing(fill, field):
    p = doge()
    p.apply_fill("DOGEUSDT", 2.0, 0.12345, 0.01)
    before = p.position("DOGEUSDT").snapshot()
    with pytest.raises(ValueError, match=field):
        p.apply_fill("DOGEUSDT", *fill, 0.01)
    assert p.position("DOGEUSDT").snapshot() == before and p.refused == 1


def test_float_rounding_is_on_the_grid():
    p = doge()
    p.apply_fill("DOGEUSDT", 0.1 + 0.2, 0.1 + 0.2, 0.0)  # 0.30000000000000004 each
    pos = p.position("DOGEUSDT")
    assert (pos.lots, pos.qty, pos.avg_cost) == (300, 0.3, 0.3)


def test_a_grid_cannot_change_under_a_held_position():
    p = doge()
    held = p.position("DOGEUSDT")
    p.instrument("DOGEUSDT", DOGE_TICK, DOGE_LOT)  # the same grid again: a no-op
    p.apply_fill("DOGEUSDT", 1.0, 0.1, 0.0)
    with pytest.raises(ValueError, match="lot_size"):
        p.instrument("DOGEUSDT", DOGE_TICK, 1.0)
    with pytest.raises(ValueError, match="tick_size"):
        Portfolio().instrument("X", math.nan, 1.0)
    flat = Portfolio()
    pos = flat.position("X")  # created without a grid, then registered: same object
    flat.instrument("X", 0.5, 2.0)
    with pytest.raises(ValueError, match="signed_qty"):
        flat.apply_fill("X", 1.0, 10.0, 0.0)
    flat.apply_fill("X", 4.0, 10.5, 0.0)
    assert flat.position("X") is pos and pos.lots == 2 and held.lots == 1000


def _journal_fill(j: Journal, p: Portfolio, symbol: str, n: int, qty: float, price: float):
    p.apply_fill(symbol, qty, price, 0.0001)
    side = Side.BUY if qty > 0 else Side.SELL
    fill = OrderFilled(
        f"c{n}", float(n), f"f{n}", side, round(price / DOGE_TICK), abs(qty), 0.0001, True
    )
    j.record_fill(symbol, fill, price, p.position(symbol).snapshot(), float(n))


def test_the_journal_restores_the_exact_integers(tmp_path):
    """A partial close leaves a basis a float cannot hold; the restart has the same integers,
    and closing the rest gives the PnL the first process would have had."""
    path = tmp_path / "j.sqlite"
    p = doge()
    j = Journal(path)
    _journal_fill(j, p, "DOGEUSDT", 1, 34024.903, 0.12345)
    _journal_fill(j, p, "DOGEUSDT", 2, 95554.653, 0.12346)
    _journal_fill(j, p, "DOGEUSDT", 3, -100000.001, 0.12401)
    p.mark("DOGEUSDT", 0.1239)
    j.close()
    state = load_state(path)
    restored = doge()
    restored.restore(state.positions)
    a, b = p.position("DOGEUSDT"), restored.position("DOGEUSDT")
    assert b.exact() == a.exact()
    assert (b.qty, b.avg_cost, b.realized, b.fees) == (a.qty, a.avg_cost, a.realized, a.fees)
    assert a.apply_fill(-29579.555, 0.125, 0.0) == b.apply_fill(-29579.555, 0.125, 0.0)
    assert a.exact() == b.exact() and b.lots == 0


def test_a_journal_from_before_exact_positions_restores_from_its_floats(tmp_path):
    path = tmp_path / "old.sqlite"
    with sqlite3.connect(path) as conn:
        conn.execute(
            "CREATE TABLE positions (symbol TEXT PRIMARY KEY, qty REAL NOT NULL, avg_cost REAL "
            "NOT NULL, realized REAL NOT NULL, fees REAL NOT NULL, mark REAL, ts REAL NOT NULL)"
        )
        conn.execute("INSERT INTO positions VALUES ('DOGEUSDT', 2.5, 0.12345, 1.5, 0.01, NULL, 1)")
    conn.close()
    (snap,) = load_state(path).positions
    assert snap.exact is None
    p = doge()
    p.restore([snap])
    pos = p.position("DOGEUSDT")
    assert (pos.qty, pos.avg_cost, pos.realized, pos.fees) == (2.5, 0.12345, 1.5, 0.01)
    Journal(path).close()  # the old journal gains the column for exact positions
    with sqlite3.connect(path) as conn:
        assert "exact" in {r[1] for r in conn.execute("PRAGMA table_info(positions)")}
    conn.close()


def test_a_snapshot_off_the_grid_restores_nothing():
    p = doge()
    p.apply_fill("DOGEUSDT", 1.0, 0.1, 0.0)
    good = p.position("DOGEUSDT").snapshot()
    bad = good._replace(symbol="OTHER", exact=None, qty=math.nan)
    fresh = doge()
    with pytest.raises(ValueError, match="symbol: OTHER"):  # not registered
        fresh.restore([good, bad])
    fresh.instrument("OTHER", DOGE_TICK, DOGE_LOT)
    with pytest.raises(ValueError, match="qty"):
        fresh.restore([good, bad])
    assert fresh.positions == {}


@pytest.mark.parametrize("sign", [1, -1])
def test_a_partial_close_keeps_the_average_long_or_short(sign):
    p = doge()
    for ticks in (10_000, 10_000, 11_000):  # average 31000/3 ticks: not a whole number
        p.apply_fill("DOGEUSDT", sign * 1.0, ticks * DOGE_TICK, 0.0)
    pnl = p.apply_fill("DOGEUSDT", -sign * 1.0, 0.105, 0.0)
    avg = Fraction(31_000, 3) * Fraction(DOGE_TICK)
    pos = p.position("DOGEUSDT")
    assert pnl == pytest.approx(float(sign * (Fraction(0.105) - avg)), rel=1e-12)
    assert pos.avg_cost == pytest.approx(float(avg), rel=1e-12) and pos.qty == sign * 2.0
    p.apply_fill("DOGEUSDT", -sign * 2.0, 0.105, 0.0)  # the rest: flat, exact again
    assert pos.realized == float(sign * Fraction(31_500 - 31_000, 100_000))


def test_a_fill_for_a_symbol_never_registered_is_refused_and_counted():
    """No grid is guessed (a 1e-8 default misprices DOGE-sized lots): the fill is refused by
    name, counted, and nothing changes; registering the symbol lets it through."""
    p = Portfolio()
    p.mark("X", 100.0)  # a mark needs no grid
    with pytest.raises(ValueError, match="symbol: X has no tick/lot registered"):
        p.apply_fill("X", 1.0, 100.0, 0.01)
    pos = p.position("X")
    assert (pos.lots, pos.cash, pos.fee_units, p.refused) == (0, 0, 0, 1)
    assert p.equity == 0.0
    with pytest.raises(ValueError, match="symbol: Y"):
        p.restore([PositionSnapshot("Y", 1.0, 100.0, 0.0, 0.0, 100.0)])
    p.instrument("X", 0.01, 0.001)
    p.apply_fill("X", 1.0, 100.0, 0.01)
    assert pos.lots == 1000 and p.position("X") is pos


def test_every_engine_registers_its_symbol_with_the_portfolio():
    from .conftest import make_engine, session

    engine = make_engine(session(10)[0])
    grid = engine.portfolio.grids[engine.symbol]
    assert (grid.tick_size, grid.lot_size) == (engine.quoter.cfg.tick_size, engine.orders.lot_size)
