"""Operator controls (``mmcore.control``) on real paper engines: halt, flatten, resume, signals."""

from __future__ import annotations

import asyncio
import os
import signal
from dataclasses import dataclass, field

import pytest

from mmcore import control
from mmcore.engine import Engine
from mmcore.execution import OrderStatus, Trade
from mmcore.risk import TradingState
from mmcore.testing.trading import SYMBOL, make_engine, session


@dataclass
class Desk:
    """The part of a trader the controls use."""

    engines: dict[str, Engine] = field(default_factory=dict)


def quoting(events: int = 600, **risk: object) -> tuple[Engine, list]:
    snapshot, items = session(events, seed=3)
    engine = make_engine(snapshot, risk=risk or None)
    return engine, items


def run(engine: Engine, items: list) -> None:
    for now, item in items:
        if isinstance(item, Trade):
            engine.on_trade(item, now)
        else:
            engine.book.apply(item)
            engine.on_book(now)


def test_halt_cancels_everything_and_quotes_nothing_until_resume() -> None:
    engine, items = quoting()
    run(engine, items[:300])
    assert any(o.status is OrderStatus.ACKED for o in engine.orders.orders.values())
    now = items[299][0]
    assert control.halt(Desk({SYMBOL: engine}), now=now) == [SYMBOL]
    assert all(o.status is OrderStatus.PENDING_CANCEL for o in engine.orders.orders.values())
    placed = engine.orders.placed
    run(engine, items[300:450])
    assert engine.orders.placed == placed  # nothing sent while halted
    assert engine.orders.orders == {}
    assert engine.risk.state is TradingState.HALTED
    assert "operator_halt" in engine.risk.reasons
    control.resume(Desk({SYMBOL: engine}))
    run(engine, items[450:])
    assert engine.orders.placed > placed
    assert engine.risk.state is not TradingState.HALTED


def test_flatten_reaches_zero_inside_the_slippage_bound_then_stays_halted() -> None:
    engine, items = quoting(900, flatten_max_bps=3.0, flatten_max_qty=0.004)
    position = engine.portfolio.position(SYMBOL)
    i = 0
    while abs(position.qty) < 0.01 and i < len(items):
        run(engine, items[i : i + 1])
        i += 1
    assert abs(position.qty) >= 0.01, "the session built no position to flatten"
    now = items[i - 1][0]
    control.flatten(Desk({SYMBOL: engine}), now=now)
    assert engine.risk.flattening
    sent: dict[str, tuple[int, float, float]] = {}
    for item in items[i:]:
        f = engine.book.features(5)
        touch = f.best_bid if position.qty > 0 else f.best_ask
        run(engine, [item])
        for o in engine.orders.orders.values():
            sent.setdefault(o.client_id, (o.price_ticks, o.qty, touch))
        if abs(position.qty) < 1e-9:
            break
    assert abs(position.qty) < 1e-9, "flatten did not reach zero"
    assert engine.risk.state is TradingState.HALTED
    assert engine.risk.reasons == ("operator_flatten",)
    assert sent
    for price_ticks, qty, touch in sent.values():
        assert qty <= 0.004 + 1e-12
        assert abs(price_ticks * 0.01 - touch) <= touch * 3e-4 + 0.01
    run(engine, items[-50:])
    assert engine.orders.orders == {}  # flat and halted: nothing new


def test_unknown_symbol_is_named() -> None:
    engine, _ = quoting(10)
    with pytest.raises(ValueError, match="ETHUSDT"):
        control.halt(Desk({SYMBOL: engine}), ["ETHUSDT"])


def test_signals_reach_the_controls() -> None:
    engine, items = quoting()
    run(engine, items[:300])
    desk = Desk({SYMBOL: engine})

    async def main() -> None:
        remove = control.install_signals(desk)
        try:
            os.kill(os.getpid(), signal.SIGUSR1)
            await asyncio.sleep(0.05)
            assert engine.risk.operator_halt
            os.kill(os.getpid(), signal.SIGHUP)
            await asyncio.sleep(0.05)
            assert not engine.risk.operator_halt
            os.kill(os.getpid(), signal.SIGUSR2)
            await asyncio.sleep(0.05)
            assert engine.risk.operator_flatten
        finally:
            remove()

    asyncio.run(main())
