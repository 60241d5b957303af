"""Trading state (ACTIVE / REDUCING / HALTED) and the pre-trade gate every order passes.

The state and limits are decided here on every book update; the gate's arithmetic (limits that
count working orders, lot rounding, the order-rate bucket) runs in Rust
(:class:`mmcore._core.PreTradeGate`), so the order desk consults it without calling Python.
"""

from __future__ import annotations

import enum
import logging
import math

from mmcore._core import Features, PreTradeGate
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


# Enum member lookups (``Side.BUY``) cost ~100 ns each on CPython 3.11; hot paths use these.
_ACTIVE, _REDUCING, _HALTED = TradingState.ACTIVE, TradingState.REDUCING, TradingState.HALTED
_isfinite = math.isfinite

#: A flatten target: ``(price_ticks, qty)``, as the order manager takes them.
Target = tuple[int, float]


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
        self.state = _ACTIVE
        self.reasons: tuple[str, ...] = ()
        self.position = 0.0
        self.limit = cfg.max_position
        self.spread_mult = 1.0
        self.peak: float | None = None
        self.killed_at: float | None = None
        self.drawdown = 0.0  # how far PnL is below its peak at the last evaluation
        #: PnL when the session started (the first evaluation, or :meth:`reset_session`).
        self.session_start: float | None = None
        self.session_loss = 0.0  # how far PnL is below the session start
        self.session_stopped = False  # latched: only reset_session() lifts it
        #: True while a trip is being acted on by flattening (see :meth:`flatten_targets`).
        self.flattening = False
        #: The last error the gate raised on a state update (``gate_refused``), "" if none.
        self.gate_error = ""
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
        gate that refuses its inputs (``gate_refused``, see :meth:`_set`).
        """
        cfg = self.cfg
        limit = cfg.max_position * overlay.limit_mult
        if not (_isfinite(position) and _isfinite(pnl) and _isfinite(limit)):
            # the books are broken: refuse everything, keep the last finite values
            self._disturb()
            self.flattening = False
            return self._set(_HALTED, _broken_inputs(position, pnl, limit), self.position)
        self.position = position
        self.limit = limit
        self._track_pnl(now, pnl)
        vpin = f.vpin
        toxicity = overlay.toxic_probability
        if vpin > toxicity:  # False for a NaN VPIN (too little volume yet)
            toxicity = vpin
        self.spread_mult = cfg.toxic_widen_mult if toxicity >= cfg.toxic_widen else 1.0
        halts = _book_causes(f, feed_safe)
        # a book being rebuilt has no age: staleness counts only for a sound book
        fresh = (book_age_s, feed_lag_s) if not halts else (0.0, 0.0)
        calm = _calm_causes(*fresh, cfg, toxicity, overlay)
        halts += self._calm_reasons(now, calm)
        trips = self._trip_reasons(now, pnl)
        flat = abs(position) < 0.5 * cfg.lot_size
        self.flattening = bool(trips) and not halts and not flat and cfg.kill_action == "flatten"
        if halts or (trips and flat):
            return self._set(_HALTED, tuple(trips + halts), position)
        if trips:
            return self._set(_REDUCING, tuple(trips), position)
        if abs(position) >= cfg.reduce_at * self.limit:
            return self._set(_REDUCING, ("position_limit",), position)
        return self._set(_ACTIVE, (), position)

    def _set(self, state: TradingState, reasons: tuple[str, ...], position: float) -> TradingState:
        """Hand the state, position and limit to the gate. A gate that refuses them (it halts
        itself until a valid set) halts the symbol with ``gate_refused`` instead of raising
        into the engine loop; its error is kept in :attr:`gate_error`. External
        :meth:`override` floors apply here, after the symbol's own decision."""
        if self.overrides:
            for source, (floor, flatten) in self.overrides.items():
                if flatten and state is not _HALTED:  # a trip acted on by flattening
                    flat = abs(position) < 0.5 * self.cfg.lot_size
                    floor = _HALTED if flat else _REDUCING
                    self.flattening = not flat
                if floor.code > state.code:
                    state = floor
                if floor is not _ACTIVE:
                    reasons = (*reasons, source)
        try:
            self.gate.set(state.code, position, self.limit)
        except Exception as exc:  # fail closed on whatever the gate raises
            log.error(
                "pre-trade gate refused state=%s position=%r limit=%r: %s",
                state.value,
                position,
                self.limit,
                exc,
            )
            self.gate_error = f"{type(exc).__name__}: {exc}"
            self._disturb()
            self.flattening = False
            state, reasons = _HALTED, (*reasons, "gate_refused")
        self.state = state
        self.reasons = reasons
        return state

    def _track_pnl(self, now: float, pnl: float) -> None:
        """Peak, drawdown and session loss of this symbol's PnL; trips the kill switch and
        the session stop."""
        cfg = self.cfg
        peak = self.peak
        if peak is None or pnl > peak:
            self.peak = peak = pnl
        self.drawdown = peak - pnl
        if self.killed_at is None and self.drawdown >= cfg.max_drawdown:
            self.killed_at = now
        if self.session_start is None:
            self.session_start = pnl
        self.session_loss = self.session_start - pnl
        if self.session_loss >= cfg.session_loss_limit:
            self.session_stopped = True

    def _trip_reasons(self, now: float, pnl: float) -> list[str]:
        """The trips in force (runs the cool-down resume of the kill switch)."""
        cfg = self.cfg
        reasons = []
        if self.killed_at is not None:
            if (
                cfg.kill_switch_resume == "cooldown"
                and now - self.killed_at >= cfg.kill_switch_cooldown_s
            ):
                self.resume()
                self.peak = pnl
            else:
                reasons.append("drawdown")
        if self.session_stopped:
            reasons.append("session_loss")
        return reasons

    def _disturb(self) -> None:
        self._disturbed = True
        self._calm_since = None

    def _calm_reasons(self, now: float, calm: list[str]) -> list[str]:
        """The ``calm`` causes seen now, or ``resume_delay`` until they have been gone for
        ``resume_delay_s``."""
        if calm:
            self._disturb()
            return calm
        if not self._disturbed:
            return []
        if self._calm_since is None:
            self._calm_since = now
        if now - self._calm_since < self.cfg.resume_delay_s:
            return ["resume_delay"]
        self._disturbed = False
        return []

    def resume(self) -> None:
        """Manual resume after the kill switch: the peak restarts from the next PnL seen.
        Does not lift the session stop (see :meth:`reset_session`)."""
        self.killed_at = None
        self.peak = None

    def override(self, source: str, state: TradingState | None, *, flatten: bool = False) -> None:
        """Hold the state at ``state`` or worse for ``source`` (an operator's halt, a
        portfolio-wide limit) until called again with ``state=None``; ``source`` joins
        :attr:`reasons` while it holds. ``flatten=True`` acts like a trip acted on by
        flattening whatever ``kill_action`` says: REDUCING with :attr:`flattening` while a
        position is held, HALTED once flat. Applied at the next :meth:`evaluate`."""
        if state is None:
            self.overrides.pop(source, None)
        else:
            self.overrides[source] = (state, flatten)

    def reset_session(self) -> None:
        """Start a new session (an operator's decision, e.g. a new trading day): lifts the
        session stop; the session's loss is counted from the next PnL seen."""
        self.session_stopped = False
        self.session_start = None

    def flatten_targets(self, f: Features) -> tuple[list[Target], list[Target]]:
        """``(bids, asks)``: the capped marketable order that shrinks the position (empty
        when not :attr:`flattening` or the touch it must cross is unknown).

        Its size is the position, or at most ``flatten_max_qty``; its price is at most
        ``flatten_max_bps`` through the opposite touch (a sell no lower than the best bid
        less the cap, a buy no higher than the best ask plus it), in whole ticks.
        """
        if not self.flattening:
            return [], []
        cfg = self.cfg
        qty = abs(self.position)
        if cfg.flatten_max_qty > 0:
            qty = min(qty, cfg.flatten_max_qty)
        cap = cfg.flatten_max_bps * 1e-4
        if self.position > 0:
            touch = f.best_bid
            if not touch > 0:  # NaN or empty side: nothing to price against
                return [], []
            return [], [(math.ceil(round(touch * (1 - cap) / self.tick_size, 6)), qty)]
        touch = f.best_ask
        if not touch > 0:
            return [], []
        return [(math.floor(round(touch * (1 + cap) / self.tick_size, 6)), qty)], []

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


def _broken_inputs(position: float, pnl: float, limit: float) -> tuple[str, ...]:
    """Reasons the books or limits cannot be trusted (non-finite values)."""
    broken: tuple[str, ...] = ()
    if not math.isfinite(position):
        broken += ("position_not_finite",)
    if not math.isfinite(pnl):
        broken += ("pnl_not_finite",)
    if not math.isfinite(limit):
        broken += ("limit_not_finite",)
    return broken


def _book_causes(f: Features, feed_safe: bool) -> list[str]:
    """Causes that halt only while they last: a fresh synced book cures them."""
    causes = []
    if not feed_safe:
        causes.append("feed_unsafe")
    if f.synced != 1.0:
        causes.append("book_unsynced")
    if f.crossed == 1.0:
        causes.append("book_crossed")
    return causes


def _calm_causes(
    book_age_s: float, feed_lag_s: float, cfg: RiskConfig, toxicity: float, overlay: Overlay
) -> list[str]:
    """Causes after which quoting resumes only after ``resume_delay_s`` of calm."""
    causes = []
    if not book_age_s <= cfg.stale_book_s:  # a NaN age is stale too
        causes.append("book_stale")
    if feed_lag_s > cfg.max_feed_lag_s:
        causes.append("feed_lag")
    if toxicity >= cfg.toxic_pull:
        causes.append("toxic_flow")
    if overlay.halt:
        causes.append("circuit_breaker")
    return causes
