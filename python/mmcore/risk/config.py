"""Risk configuration (``[risk]``): limits, kill switch, toxicity and explicit resume rules."""

from __future__ import annotations

from dataclasses import dataclass

from mmcore.config import bounded

__all__ = ["RiskConfig"]


@dataclass(frozen=True, slots=True)
class RiskConfig:
    """Hard limits and the rules for halting and resuming.

    Position and notional limits count working orders (pending new, open and pending cancel).
    Toxicity is the larger of the book's VPIN and the advisor's ``toxic_flow_probability``:
    from ``toxic_widen`` spreads are multiplied by ``toxic_widen_mult``, from ``toxic_pull``
    quoting stops. ``reduce_at`` is the fraction of ``max_position`` from which only reducing
    orders go out.

    PnL limits compare with THIS symbol's PnL (realised + unrealised - fees), never with the
    equity of the whole portfolio. The kill switch fires when that PnL falls ``max_drawdown``
    (quote currency) below its PEAK; the session stop when it falls ``max_session_loss``
    below its value at the start of the session (default: twice ``max_drawdown``). Either
    trip is acted on as ``kill_action`` says: ``"reduce_only"`` quotes only the side that
    shrinks the position; ``"flatten"`` sends a marketable limit order of at most
    ``flatten_max_qty`` (0: the whole position) priced at most ``flatten_max_bps`` through
    the touch. Flat after a trip, nothing is quoted.

    Resume rules: ``kill_switch_resume = "manual"`` needs :meth:`RiskManager.resume`;
    ``"cooldown"`` resumes after ``kill_switch_cooldown_s`` with the peak reset to the PnL
    then. The session stop never lifts by itself (neither rule lifts it): only
    :meth:`RiskManager.reset_session` does.

    Feed and book safety: the book is stale when its newest data is older than
    ``stale_book_s``, measured on the exchange's clock (event time) when the engine knows it,
    else since it was received; the feed lags when the exchange-to-local lag of the last
    update exceeds ``max_feed_lag_s`` (a backlog that arrives now but is old). A crossed or
    unsynced book, and a feed that is not safe to quote, halt only while they last (a crossed
    book is resynced, at most once per ``crossed_resync_s``; a resync brings a fresh book); a
    stale book, a lagging feed, toxicity, advice and a non-finite
    position or PnL lift once their cause is gone, after ``resume_delay_s`` of calm.
    """

    max_position: float = bounded(gt=0)
    max_notional: float = bounded(gt=0)
    max_drawdown: float = bounded(gt=0)
    max_session_loss: float | None = bounded(None, gt=0)
    kill_action: str = bounded("reduce_only", choices=("reduce_only", "flatten"))
    flatten_max_qty: float = bounded(0.0, ge=0)
    flatten_max_bps: float = bounded(10.0, ge=0)
    reduce_at: float = bounded(0.8, gt=0, le=1)
    stale_book_s: float = bounded(0.5, gt=0)
    max_feed_lag_s: float = bounded(0.25, gt=0)
    toxic_widen: float = bounded(0.4, ge=0, le=1)
    toxic_pull: float = bounded(0.7, ge=0, le=1)
    toxic_widen_mult: float = bounded(2.0, ge=1)
    max_orders_per_s: float = bounded(10.0, gt=0)
    order_burst: int = bounded(20, ge=1)
    kill_switch_resume: str = bounded("manual", choices=("manual", "cooldown"))
    kill_switch_cooldown_s: float = bounded(300.0, ge=0)
    resume_delay_s: float = bounded(1.0, ge=0)
    crossed_resync_s: float = bounded(1.0, ge=0)
    lot_size: float = bounded(1e-8, gt=0)

    @property
    def session_loss_limit(self) -> float:
        """``max_session_loss``, or twice ``max_drawdown`` when it is not set."""
        if self.max_session_loss is None:
            return 2.0 * self.max_drawdown
        return self.max_session_loss
