"""The live side of the operator controls (``mmcore.control``): signals reach the controls,
a halt cancels every order at a live venue, tracked or not, and a resume lifts a venue's halt
once its ban has ended."""

from __future__ import annotations

import asyncio
import os
import signal
import time
from dataclasses import dataclass, field
from typing import Any

from mmcore import control
from mmcore.engine import Engine
from mmcore.execution import OrderRequest, OrderStatus, Side
from mmcore.risk import TradingState

from .conftest import SYMBOL, live_on, spot


@dataclass
class Desk:
    """The part of a trader the controls use."""

    engines: dict[str, Engine] = field(default_factory=dict)


async def test_signals_halt_flatten_and_resume() -> None:
    async with live_on(spot()) as live:
        desk: Any = Desk({SYMBOL: live.engine})
        remove = control.install_signals(desk)
        try:
            os.kill(os.getpid(), signal.SIGUSR1)
            await asyncio.sleep(0.05)
            assert live.engine.risk.overrides[control.OPERATOR][0] is TradingState.HALTED
            os.kill(os.getpid(), signal.SIGHUP)
            await asyncio.sleep(0.05)
            assert control.OPERATOR not in live.engine.risk.overrides
            os.kill(os.getpid(), signal.SIGUSR2)
            await asyncio.sleep(0.05)
            assert live.engine.risk.overrides[control.OPERATOR] == (TradingState.REDUCING, True)
        finally:
            remove()


async def test_halt_cancels_every_order_at_the_venue_tracked_or_not() -> None:
    fake = spot()
    async with live_on(fake, foreign_orders="adopt") as live:
        fake.seed_open_order(SYMBOL, "sell", "0.001", "150000", client_id="someone-else")
        cid = live.place(+1, 99_000.0, 0.002)
        await live.until(lambda: live.engine.orders.order(cid).status is OrderStatus.ACKED)
        control.halt(Desk({SYMBOL: live.engine}))  # type: ignore[arg-type]
        await live.until(lambda: live.engine.orders.order(cid) is None)
        await live.until(lambda: not fake.order("someone-else").is_open)
        assert not fake.order(cid).is_open
        assert live.count("DELETE", "/api/v3/openOrders") == 1


async def test_resume_lifts_a_venue_halt_only_after_the_ban() -> None:
    async with live_on(spot()) as live:
        live.fake.throttle(n_429=0, n_418=1, retry_after_s=0.6)
        live.place(+1, 99_000.0, 0.001)
        await live.until(lambda: live.halts == ["venue_ban"])
        desk: Any = Desk({SYMBOL: live.engine})
        control.resume(desk)  # too early: the ban runs
        assert live.session.halted and not live.venue.ready
        await asyncio.sleep(live.session.guard.wait_s() + 0.05)  # Retry-After is whole seconds
        control.resume(desk, now=time.monotonic())
        await live.until(lambda: live.venue.ready)
        assert live.session.refusal() is None  # the venue takes orders again
        # (the engine itself has no book here, so it stays halted on its own account)
        live.venue.submit(OrderRequest("mm-BTCUSDT-99", SYMBOL, Side.BUY, 9_900_000, 0.001), 0.0)
        await live.until(
            lambda: any(o.client_id == "mm-BTCUSDT-99" for o in live.fake.ledger.open_orders())
        )
