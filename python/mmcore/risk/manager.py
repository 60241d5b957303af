"""Trading state (ACTIVE / REDUCING / HALTED) and the pre-trade gate every order passes.

The state machine (limits, kill switch and session stop, toxicity, stale/lagging feed, resume
rules) runs in Rust (:class:`mmcore._core.RiskCore`, ``rust/risk/``), the one implementation
the Rust engine step calls on every book event too; the gate's arithmetic (limits that count
working orders, lot rounding, the order-rate bucket) is :class:`mmcore._core.PreTradeGate`,
which the order desk consults without calling Python. This class keeps the Python API.
"""

from __future__ import annotations

import enum
import logging

from mmcore._core import Features, PreTradeGate, RiskCore
from mmcore.execution.orders import Side
from mmcore.risk.config import RiskConfig
from mmcore.strategy.overlay import NEUTRAL, Overlay

__all__ = ["RiskManager", "TradingState"]

log = logging.getLogger("mmcore.risk")


class TradingState(enum.Enum):
    """ACTIVE quotes both sides; REDUCING only orders that shrink the position; HALTED none."""

    ACTIVE = "active"
    REDUCING = "reducing"
    HALTED = "halted"

    code: int  # PreTradeGate's state code (set below)


for _code, _state in enumerate(TradingState):
    _state.code = _code


_ACTIVE = TradingState.ACTIVE
_STATES = tuple(TradingState)  # indexed by RiskCore's state codes

#: A flatten target: ``(price_ticks, lots)``, as the order manager takes them.
Target = tuple[int, int]


class RiskManager:
    """Decides the trading state from features, this symbol's PnL and position; vetoes or
    trims orders.

    Call :meth:`evaluate` on every book update (it is cheap), then route orders through
    :meth:`allow`. The engine cancels all orders whenever the state becomes HALTED. After a
    kill-switch or session-loss trip the state is REDUCING while a position is held (HALTED
    once flat); with ``kill_action = "flatten"``, :attr:`flattening` is True and
    :meth:`flatten_targets` gives the capped marketable order to send.
    """

    def __init__(self, cfg: RiskConfig, tick_size: float) -> None:
        self.cfg = cfg
        self.tick_size = tick_size
        #: The pre-trade gate (pass it to the order manager: ``OrderManager(..., risk.gate)``).
        self.gate = PreTradeGate(
            max_notional=cfg.max_notional,
            tick_size=tick_size,
            lot_size=cfg.lot_size,
            max_orders_per_s=cfg.max_orders_per_s,
            order_burst=cfg.order_burst,
        )
        self.gate.set(_ACTIVE.code, 0.0, cfg.max_position)
        #: The Rust state machine (the engine step drives it directly).
        self.core = RiskCore(
            self.gate,
            max_position=cfg.max_position,
            max_drawdown=cfg.max_drawdown,
            session_loss_limit=cfg.session_loss_limit,
            kill_action=cfg.kill_action,
            flatten_max_qty=cfg.flatten_max_qty,
            flatten_max_bps=cfg.flatten_max_bps,
            reduce_at=cfg.reduce_at,
            stale_book_s=cfg.stale_book_s,
            max_feed_lag_s=cfg.max_feed_lag_s,
            toxic_widen=cfg.toxic_widen,
            toxic_pull=cfg.toxic_pull,
            toxic_widen_mult=cfg.toxic_widen_mult,
            kill_switch_resume=cfg.kill_switch_resume,
            kill_switch_cooldown_s=cfg.kill_switch_cooldown_s,
            resume_delay_s=cfg.resume_delay_s,
            lot_size=cfg.lot_size,
            tick_size=tick_size,
        )
        self._gate_error = ""
        #: External floors on the state by source (see :meth:`override`).
        self.overrides: dict[str, tuple[TradingState, bool]] = {}

    def evaluate(
        self,
        f: Features,
        now: float,
        book_age_s: float,
        position: float,
        pnl: float,
        overlay: Overlay = NEUTRAL,
        *,
        feed_lag_s: float = 0.0,
        feed_safe: bool = True,
    ) -> TradingState:
        """Update and return the trading state (``reasons`` says why it is not ACTIVE).

        ``book_age_s``: how old the book's newest data is (on the exchange's clock when
        known); ``pnl``: this symbol's PnL; ``feed_lag_s``: the exchange-to-local lag of the
        last book update; ``feed_safe``: False while the feed says the book is not safe to
        quote (resyncing, stale, disconnected). A non-finite position, PnL or position limit
        halts (``position_not_finite``, ``pnl_not_finite``, ``limit_not_finite``), and so does a
        gate that refuses its inputs (``gate_refused``, its error in :attr:`gate_error`).
        """
        code = self.core.evaluate(
            f.vpin,
            f.synced,
            f.crossed,
            now,
            book_age_s,
            position,
            pnl,
            feed_lag_s,
            feed_safe,
            overlay.limit_mult,
            overlay.toxic_probability,
            overlay.halt,
        )
        self.log_gate_error()
        return _STATES[code]

    def log_gate_error(self) -> None:
        """Log the gate's refusal once when a new one happened (the engine step calls the
        Rust core directly and logs through this after it)."""
        error = self.core.gate_error
        if error != self._gate_error:
            self._gate_error = error
            log.error("pre-trade gate refused the risk state: %s", error)

    @property
    def state(self) -> TradingState:
        """The state decided last."""
        return _STATES[self.core.state]

    @property
    def reasons(self) -> tuple[str, ...]:
        """Why the state is not ACTIVE, in the order found."""
        return self.core.reasons

    @property
    def position(self) -> float:
        """The last finite position handed to the gate."""
        return self.core.position

    @property
    def limit(self) -> float:
        """The position limit in force (``max_position`` times the advice's multiplier)."""
        return self.core.limit

    @property
    def spread_mult(self) -> float:
        """The spread multiplier toxicity asks for (1 or ``toxic_widen_mult``)."""
        return self.core.spread_mult

    @property
    def peak(self) -> float | None:
        """The PnL peak the kill switch measures from (None: the next PnL seen)."""
        return self.core.peak

    @property
    def killed_at(self) -> float | None:
        """When the kill switch tripped (None: not tripped)."""
        return self.core.killed_at

    @property
    def drawdown(self) -> float:
        """How far PnL is below its peak at the last evaluation."""
        return self.core.drawdown

    @property
    def session_start(self) -> float | None:
        """PnL when the session started (the first evaluation, or :meth:`reset_session`)."""
        return self.core.session_start

    @property
    def session_loss(self) -> float:
        """How far PnL is below the session start."""
        return self.core.session_loss

    @property
    def session_stopped(self) -> bool:
        """Latched by the session stop: only :meth:`reset_session` lifts it."""
        return self.core.session_stopped

    @property
    def flattening(self) -> bool:
        """True while a trip is being acted on by flattening (see :meth:`flatten_targets`)."""
        return self.core.flattening

    @property
    def gate_error(self) -> str:
        """The last error the gate raised on a state update (``gate_refused``), "" if none."""
        return self.core.gate_error

    def resume(self) -> None:
        """Manual resume after the kill switch: the peak restarts from the next PnL seen.
        Does not lift the session stop (see :meth:`reset_session`)."""
        self.core.resume()

    def override(self, source: str, state: TradingState | None, *, flatten: bool = False) -> None:
        """Hold the state at ``state`` or worse for ``source`` (an operator's halt, a
        portfolio-wide limit) until called again with ``state=None``; ``source`` joins
        :attr:`reasons` while it holds. ``flatten=True`` acts like a trip acted on by
        flattening whatever ``kill_action`` says: REDUCING with :attr:`flattening` while a
        position is held, HALTED once flat. Applied at the next :meth:`evaluate`."""
        if state is None:
            self.overrides.pop(source, None)
            self.core.clear_override(source)
        else:
            self.overrides[source] = (state, flatten)
            self.core.set_override(source, state.code, flatten)

    def reset_session(self) -> None:
        """Start a new session (an operator's decision, e.g. a new trading day): lifts the
        session stop; the session's loss is counted from the next PnL seen."""
        self.core.reset_session()

    def flatten_targets(self, f: Features) -> tuple[list[Target], list[Target]]:
        """``(bids, asks)``: the capped marketable order that shrinks the position (empty
        when not :attr:`flattening` or the touch it must cross is unknown).

        Its size is the position in lots, or at most ``flatten_max_qty`` (rounded down to whole
        lots); its price is at most
        ``flatten_max_bps`` through the opposite touch (a sell no lower than the best bid
        less the cap, a buy no higher than the best ask plus it), in whole ticks.
        """
        target = self.core.flatten_target(f.best_bid, f.best_ask)
        if target is None:
            return [], []
        side, price, lots = target
        return ([(price, lots)], []) if side > 0 else ([], [(price, lots)])

    def allow(self, side: Side, price_ticks: int, qty: float, working: float, now: float) -> float:
        """The size of a new order that the limits allow (0 vetoes it).

        ``working`` is the open size of orders already on ``side``; position plus working plus
        the new order must stay within the position and notional limits. REDUCING lets only
        orders that shrink the position through, HALTED none; no order at a price of zero or
        below; sizes are rounded down to whole lots and each order that passes takes a token of
        the order rate (``max_orders_per_s``, ``order_burst``).
        """
        return self.gate.allow(int(side), price_ticks, qty, working, now)

    @property
    def rate_limited(self) -> int:
        """Orders refused because the order rate was exhausted."""
        return self.gate.rate_limited
