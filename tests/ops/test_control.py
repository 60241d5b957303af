"""Operator actions on real engines (paper venue, synced book): halt, flatten, resume."""

from __future__ import annotations

from types import SimpleNamespace

from mmcore import control
from mmcore.execution import ACTIVE_STATUSES
from mmcore.risk.manager import TradingState
from mmcore.testing.trading import SYMBOL, make_engine, session


def _trading_engine():
    snapshot, items = session(3000, seed=3)
    engine = make_engine(snapshot)
    engine.replay(items[:500])
    return engine, items[500:]


def _working(engine) -> int:
    return sum(o.status in ACTIVE_STATUSES for o in engine.orders.orders.values())


def test_halt_cancels_now_and_holds_until_resume():
    engine, rest = _trading_engine()
    trader = SimpleNamespace(engines={SYMBOL: engine})
    assert engine.risk.state is TradingState.ACTIVE and _working(engine) > 0
    assert control.halt(trader, rest[0][0]) == {SYMBOL: "halted"}
    assert "operator" in engine.risk.reasons
    engine.take_venue_events(rest[0][0] + 1.0)  # the cancels land at the venue
    assert _working(engine) == 0
    placed = engine.orders.placed
    engine.replay(rest[:300])
    assert engine.orders.placed == placed  # nothing quoted while halted
    assert engine.risk.state is TradingState.HALTED
    control.resume(trader, rest[299][0])
    engine.replay(rest[300:600])
    assert engine.risk.state is TradingState.ACTIVE and engine.orders.placed > placed
    assert "operator" not in engine.risk.reasons


def test_flatten_takes_the_position_to_zero_then_halts():
    engine, rest = _trading_engine()
    trader = SimpleNamespace(engines={SYMBOL: engine})
    book = engine.book
    engine.portfolio.apply_fill(SYMBOL, 0.05, book.best_ask()[0], 0.0)
    assert engine.risk.cfg.kill_action == "reduce_only"  # the operator flattens regardless
    assert control.flatten(trader, rest[0][0]) == {SYMBOL: "reducing"}
    assert engine.risk.flattening
    for i in range(0, len(rest), 50):
        engine.replay(rest[i : i + 50])
        if engine.risk.state is TradingState.HALTED:
            break
    assert abs(engine.portfolio.position(SYMBOL).qty) < 1e-9
    assert engine.risk.state is TradingState.HALTED and "operator" in engine.risk.reasons
    control.resume(trader, rest[i + 49][0])
    engine.replay(rest[i + 50 : i + 400])
    assert engine.risk.state is TradingState.ACTIVE


def test_an_override_never_lowers_the_state_and_sources_are_independent():
    engine, rest = _trading_engine()
    risk = engine.risk
    risk.override("portfolio", TradingState.REDUCING)
    risk.override("operator", TradingState.HALTED)
    engine.replay(rest[:50])
    assert risk.state is TradingState.HALTED
    assert {"portfolio", "operator"} <= set(risk.reasons)
    risk.override("operator", None)
    engine.replay(rest[50:100])
    assert risk.state is TradingState.REDUCING and risk.reasons[-1] == "portfolio"
    risk.override("portfolio", None)
    engine.replay(rest[100:200])
    assert risk.state is TradingState.ACTIVE
