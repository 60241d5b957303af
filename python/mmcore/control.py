"""An operator's hands on a running trader: halt, resume, flatten every engine.

Each action sets (or lifts) the ``operator`` floor of every engine's risk manager
(:meth:`~mmcore.risk.manager.RiskManager.override`) and then runs the engine's periodic check at
once, so a halt cancels the working orders now rather than at the next book update, and a
flatten sends its first capped marketable order (the risk manager's own flatten path,
:meth:`~mmcore.risk.manager.RiskManager.flatten_targets`) now. Nothing here awaits: the
actions are plain calls made on the event loop that runs the trader.
"""

from __future__ import annotations

import logging
import time

from mmcore.risk.manager import TradingState
from mmcore.trader import Trader

__all__ = ["OPERATOR", "flatten", "halt", "resume"]

log = logging.getLogger("mmcore.control")

#: The override source (and the reason shown with the state) of an operator's action.
OPERATOR = "operator"


def _apply(trader: Trader, action: str, now: float | None) -> dict[str, str]:
    """Run every engine's check at ``now`` (default: the trader's clock, monotonic time);
    ``{symbol: state}`` after it."""
    now = time.monotonic() if now is None else now
    states = {}
    for symbol, engine in trader.engines.items():
        engine.on_timer(now)
        states[symbol] = engine.risk.state.value
        log.warning("operator_%s symbol=%s state=%s", action, symbol, states[symbol])
    return states


def halt(trader: Trader, now: float | None = None) -> dict[str, str]:
    """Halt every engine (orders cancelled, nothing quoted) until :func:`resume`;
    returns ``{symbol: state}``."""
    for engine in trader.engines.values():
        engine.risk.override(OPERATOR, TradingState.HALTED)
    return _apply(trader, "halt", now)


def flatten(trader: Trader, now: float | None = None) -> dict[str, str]:
    """Stop quoting and flatten every position with capped marketable orders (size and
    price caps from each symbol's ``[risk]``), then stay HALTED until :func:`resume`;
    returns ``{symbol: state}``."""
    for engine in trader.engines.values():
        engine.risk.override(OPERATOR, TradingState.REDUCING, flatten=True)
    return _apply(trader, "flatten", now)


def resume(trader: Trader, now: float | None = None) -> dict[str, str]:
    """Lift the operator's halt or flatten and a latched kill switch (a manual resume:
    the drawdown peak restarts from the next PnL). The session-loss stop and the other
    causes (a stale book, a portfolio-wide limit) still hold while they last; returns
    ``{symbol: state}``."""
    for engine in trader.engines.values():
        risk = engine.risk
        risk.override(OPERATOR, None)
        if risk.killed_at is not None:
            risk.resume()
    return _apply(trader, "resume", now)
