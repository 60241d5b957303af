"""Each fill reaches ``Engine.on_fill`` with the mid that prevailed when it happened, and the
decomposition of an engine replay's fills adds up to its portfolio's net PnL."""

from __future__ import annotations

from typing import NamedTuple

import pytest

from mmcore import ApplyStatus
from mmcore.analytics.pnl import MidPath, decompose
from mmcore.execution import Trade
from mmcore.testing.trading import SYMBOL, make_engine, session


class Seen(NamedTuple):
    t: float
    sign: int
    price: float
    qty: float
    fee: float
    mid: float
    before: float  # the book's mid before the event that produced the fill


def test_fills_carry_the_prevailing_mid_and_decompose_to_the_portfolio_pnl():
    snapshot, items = session(4000, seed=11)
    engine = make_engine(snapshot)
    seen: list[Seen] = []
    before = engine.book.features(engine.depth).mid
    engine.quote(0.0)  # marks the position, as a first book event would

    def on_fill(fill, price, signed, mid, now):
        assert now >= fill.ts  # applied once it has reached us
        seen.append(
            Seen(fill.ts, 1 if signed > 0 else -1, price, abs(signed), fill.fee, mid, before)
        )

    engine.on_fill = on_fill
    marks = [(0.0, before)]
    for now, item in items:
        before = engine.book.features(engine.depth).mid
        if isinstance(item, Trade):
            engine.on_trade(item, now)
        elif engine.book.apply(item) == ApplyStatus.APPLIED:
            engine.on_book(now)
        marks.append((now, engine.portfolio.position(SYMBOL).mark))
    assert len(seen) > 20, "the replay made too few fills to test"
    assert [s.mid for s in seen] == [s.before for s in seen]
    pos = engine.portfolio.position(SYMBOL)
    assert sum(s.sign * s.qty for s in seen) == pytest.approx(pos.qty, abs=1e-12)

    end = items[-1][0]
    parts = decompose(seen, MidPath([*marks, (end, pos.mark)]), horizon_s=1.0)
    assert parts.total == pytest.approx(pos.net, abs=1e-9)
    assert parts.fees == pytest.approx(-pos.fees, abs=1e-12)
