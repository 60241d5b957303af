"""An operator's hands on a running trader: halt, resume, flatten every engine.

Each action sets (or lifts) the ``operator`` floor of every engine's risk manager
(:meth:`~mmcore.risk.manager.RiskManager.override`) and then runs the engine's periodic check at
once, so a halt cancels the working orders now rather than at the next book update, and a
flatten sends its first capped marketable order (the risk manager's own flatten path,
:meth:`~mmcore.risk.manager.RiskManager.flatten_targets`) now. Nothing here awaits: the
actions are plain calls made on the event loop that runs the trader.

A live venue (:class:`VenueControls`) is told too: a halt also cancels every open order of the
symbol at the venue (orders the engine does not track included), and a resume lifts the
venue's own halt (after a ban). A flatten leaves that to the engine, whose quotes it cancels
(a venue-wide cancel racing the flatten order could take it down).

Signals (POSIX, :func:`install_signals`): ``SIGUSR1`` halts, ``SIGUSR2`` flattens, ``SIGHUP``
resumes, e.g. ``kill -USR1 <pid>``.
"""

from __future__ import annotations

import asyncio
import logging
import signal
import time
from collections.abc import Callable
from typing import Protocol, runtime_checkable

from mmcore.execution.venue import CancelAllVenue
from mmcore.risk.manager import TradingState
from mmcore.trader import Trader

__all__ = ["OPERATOR", "SIGNALS", "VenueControls", "flatten", "halt", "install_signals", "resume"]

log = logging.getLogger("mmcore.control")

#: The override source (and the reason shown with the state) of an operator's action.
OPERATOR = "operator"


@runtime_checkable
class VenueControls(CancelAllVenue, Protocol):
    """A venue with its own part in the controls (a live venue): a venue-wide cancel and
    its own halt."""

    def resume(self) -> None:
        """Lift the venue's own halt (after a ban), if any."""
        ...


def _venues(trader: Trader, action: str, now: float | None) -> None:
    now = time.monotonic() if now is None else now
    for symbol, engine in trader.engines.items():
        venue = engine.venue
        if isinstance(venue, VenueControls):
            if action == "resume":
                venue.resume()
            else:
                venue.cancel_all(symbol, now)


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
    states = _apply(trader, "halt", now)
    _venues(trader, "halt", now)
    return states


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
    _venues(trader, "resume", now)
    return _apply(trader, "resume", now)


#: The control each signal runs.
SIGNALS: dict[signal.Signals, Callable[[Trader], dict[str, str]]] = {
    signal.SIGUSR1: halt,
    signal.SIGUSR2: flatten,
    signal.SIGHUP: resume,
}


def install_signals(trader: Trader) -> Callable[[], None]:
    """Answer :data:`SIGNALS` on the running loop; returns the function that removes them."""
    loop = asyncio.get_running_loop()
    for sig, action in SIGNALS.items():
        loop.add_signal_handler(sig, action, trader)

    def remove() -> None:
        for sig in SIGNALS:
            loop.remove_signal_handler(sig)

    return remove
