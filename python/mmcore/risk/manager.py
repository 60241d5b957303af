"""Trading state (ACTIVE / REDUCING / HALTED) and the pre-trade gate every order passes.

The state and limits are decided here on every book update; the gate's arithmetic (limits that
count working orders, lot rounding, the order-rate bucket) runs in Rust
(:class:`mmcore._core.PreTradeGate`), so the order desk consults it without calling Python.
"""

from __future__ import annotations

import enum

from mmcore._core import Features, PreTradeGate
from mmcore.execution.orders import Side
from mmcore.risk.config import RiskConfig
from mmcore.strategy.overlay import NEUTRAL, Overlay

__all__ = ["RiskManager", "TradingState"]


class TradingState(enum.Enum):
    """ACTIVE quotes both sides; REDUCING only orders that shrink the position; HALTED none."""

    ACTIVE = "active"
    REDUCING = "reducing"
    HALTED = "halted"

    code: int  # PreTradeGate's state code (set below)


for _code, _state in enumerate(TradingState):
    _state.code = _code


# Enum member lookups (``Side.BUY``) cost ~100 ns each on CPython 3.11; hot paths use these.
_ACTIVE, _REDUCING, _HALTED = TradingState.ACTIVE, TradingState.REDUCING, TradingState.HALTED


class RiskManager:
    """Decides the trading state from features, equity and position; vetoes or trims orders.

    Call :meth:`evaluate` on every book update (it is cheap), then route orders through
    :meth:`allow`. The engine cancels all orders whenever the state becomes HALTED.
    """

    def __init__(self, cfg: RiskConfig, tick_size: float) -> None:
        self.cfg = cfg
        self.tick_size = tick_size
        self.state = _ACTIVE
        self.reasons: tuple[str, ...] = ()
        self.position = 0.0
        self.limit = cfg.max_position
        self.spread_mult = 1.0
        self.peak: float | None = None
        self.killed_at: float | None = None
        self.drawdown = 0.0  # how far equity is below its peak at the last evaluation
        #: The pre-trade gate (pass it to the order manager: ``OrderManager(..., risk.gate)``).
        self.gate = PreTradeGate(
            max_notional=cfg.max_notional,
            tick_size=tick_size,
            lot_size=cfg.lot_size,
            max_orders_per_s=cfg.max_orders_per_s,
            order_burst=cfg.order_burst,
        )
        self.gate.set(_ACTIVE.code, 0.0, self.limit)
        self._disturbed = False
        self._calm_since: float | None = None

    def evaluate(
        self,
        f: Features,
        now: float,
        book_age_s: float,
        position: float,
        equity: float,
        overlay: Overlay = NEUTRAL,
    ) -> TradingState:
        """Update and return the trading state (``reasons`` says why it is not ACTIVE)."""
        cfg = self.cfg
        self.position = position
        peak = self.peak
        if peak is None or equity > peak:
            self.peak = peak = equity
        self.drawdown = peak - equity
        if self.killed_at is None and self.drawdown >= cfg.max_drawdown:
            self.killed_at = now
        vpin = f.vpin
        toxicity = overlay.toxic_probability
        if vpin > toxicity:  # False for a NaN VPIN (too little volume yet)
            toxicity = vpin
        self.spread_mult = cfg.toxic_widen_mult if toxicity >= cfg.toxic_widen else 1.0
        self.limit = cfg.max_position * overlay.limit_mult
        transient = _transient_causes(f, book_age_s, cfg, toxicity, overlay)
        if transient or self._disturbed or self.killed_at is not None:
            reasons = self._halt_reasons(now, equity, transient)
        else:  # the common case: nothing to explain
            reasons = ()
        if reasons:
            self.state = _HALTED
        elif abs(position) >= cfg.reduce_at * self.limit:
            reasons = ("position_limit",)
            self.state = _REDUCING
        else:
            self.state = _ACTIVE
        self.reasons = reasons
        self.gate.set(self.state.code, position, self.limit)
        return self.state

    def _halt_reasons(self, now: float, equity: float, transient: list[str]) -> tuple[str, ...]:
        """Why quoting must stop now (empty: it may go on), given the ``transient`` causes
        seen in this update; runs the kill-switch and resume-delay clocks."""
        cfg = self.cfg
        reasons: list[str] = []
        if self.killed_at is not None:
            if (
                cfg.kill_switch_resume == "cooldown"
                and now - self.killed_at >= cfg.kill_switch_cooldown_s
            ):
                self.resume()
                self.peak = equity
            else:
                reasons.append("drawdown")
        if transient:
            reasons += transient
            self._disturbed = True
            self._calm_since = None
        elif self._disturbed:  # causes gone: wait for resume_delay_s of calm
            if self._calm_since is None:
                self._calm_since = now
            if now - self._calm_since < cfg.resume_delay_s:
                reasons.append("resume_delay")
            else:
                self._disturbed = False
        return tuple(reasons)

    def resume(self) -> None:
        """Manual resume after the kill switch: the peak restarts from the next equity seen."""
        self.killed_at = None
        self.peak = None

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


def _transient_causes(
    f: Features, book_age_s: float, cfg: RiskConfig, toxicity: float, overlay: Overlay
) -> list[str]:
    causes = []
    if f.synced != 1.0:
        causes.append("book_unsynced")
    if f.crossed == 1.0:
        causes.append("book_crossed")
    if book_age_s > cfg.stale_book_s:
        causes.append("book_stale")
    if toxicity >= cfg.toxic_pull:
        causes.append("toxic_flow")
    if overlay.halt:
        causes.append("circuit_breaker")
    return causes
