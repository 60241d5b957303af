"""Operator controls while trading: halt, resume, flatten.

One implementation for every way an operator reaches them (the HTTP endpoints, the signals
installed by :func:`install_signals`, the dashboard): each action latches a state in every
engine's :class:`~mmcore.risk.RiskManager` and steps the engine at once, so the engine's own
paths do the work (a halt cancels every working order; a flatten sends the risk manager's capped
marketable order, :meth:`~mmcore.risk.RiskManager.flatten_targets`, until the position is zero,
then stays halted). Both latches hold until :func:`resume`.

Signals (POSIX): ``SIGUSR1`` halts, ``SIGUSR2`` flattens, ``SIGHUP`` resumes, e.g.
``kill -USR1 <pid>``.
"""

from __future__ import annotations

import asyncio
import logging
import signal
import time
from collections.abc import Callable, Iterable
from typing import Protocol, runtime_checkable

from mmcore.engine import Engine

__all__ = ["CancelsAll", "Controllable", "flatten", "halt", "install_signals", "resume"]

log = logging.getLogger("mmcore.control")


class Controllable(Protocol):
    """What the controls need of a trader: its engines by symbol."""

    engines: dict[str, Engine]


@runtime_checkable
class CancelsAll(Protocol):
    """A venue that can cancel every open order of a symbol in one request, including orders
    the engine does not track (a live venue); the controls use it after a halt or flatten."""

    def cancel_all(self, symbol: str, now: float) -> None:
        """Ask the venue to cancel every open order of ``symbol``."""
        ...


def _engines(trader: Controllable, symbols: Iterable[str] | None) -> list[Engine]:
    if symbols is None:
        return list(trader.engines.values())
    unknown = sorted(set(symbols) - set(trader.engines))
    if unknown:
        raise ValueError(f"symbols: not traded here: {', '.join(unknown)}")
    return [trader.engines[s] for s in symbols]


def halt(
    trader: Controllable,
    symbols: Iterable[str] | None = None,
    now: float | None = None,
    *,
    reason: str = "operator_halt",
) -> list[str]:
    """Stop quoting and cancel every working order (all symbols, or ``symbols``); the
    symbols halted. Holds until :func:`resume`; ``reason`` is the risk state's reason (a
    venue's ban halts with ``venue_ban``)."""
    if not reason:
        raise ValueError("reason: must not be empty")
    now = time.monotonic() if now is None else now
    engines = _engines(trader, symbols)
    for engine in engines:
        engine.risk.operator_halt = reason
        engine.on_timer(now)  # HALTED: the engine cancels its orders
        engine.orders.cancel_all(now, reason)  # those still unacknowledged too
        if isinstance(engine.venue, CancelsAll):
            engine.venue.cancel_all(engine.symbol, now)
    log.warning("halt reason=%s symbols=%s", reason, ",".join(e.symbol for e in engines))
    return [e.symbol for e in engines]


def flatten(
    trader: Controllable, symbols: Iterable[str] | None = None, now: float | None = None
) -> list[str]:
    """Cancel the quotes, then reduce each position to zero with marketable limit orders no
    more than the risk config's ``flatten_max_bps`` through the touch (each at most
    ``flatten_max_qty``); halted once flat, until :func:`resume`. The symbols flattening."""
    now = time.monotonic() if now is None else now
    engines = _engines(trader, symbols)
    for engine in engines:
        engine.risk.operator_flatten = True
        engine.on_timer(now)  # the engine cancels the quotes and sends the flatten order
    log.warning("operator_flatten symbols=%s", ",".join(e.symbol for e in engines))
    return [e.symbol for e in engines]


def resume(
    trader: Controllable, symbols: Iterable[str] | None = None, now: float | None = None
) -> list[str]:
    """Lift an operator halt or flatten and a manual kill switch (not the session stop);
    quoting resumes on the next safe book. The symbols resumed."""
    now = time.monotonic() if now is None else now
    engines = _engines(trader, symbols)
    for engine in engines:
        engine.risk.resume()
    log.warning("operator_resume symbols=%s", ",".join(e.symbol for e in engines))
    return [e.symbol for e in engines]


#: The signal each control answers to.
SIGNALS: dict[signal.Signals, Callable[[Controllable], list[str]]] = {
    signal.SIGUSR1: halt,
    signal.SIGUSR2: flatten,
    signal.SIGHUP: resume,
}


def install_signals(trader: Controllable) -> Callable[[], None]:
    """Answer :data:`SIGNALS` on the running loop; returns the function that removes them."""
    loop = asyncio.get_running_loop()
    for sig, action in SIGNALS.items():
        loop.add_signal_handler(sig, action, trader)

    def remove() -> None:
        for sig in SIGNALS:
            loop.remove_signal_handler(sig)

    return remove
