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
    The kill switch fires when equity falls ``max_drawdown`` (quote currency) below its PEAK.
    Resume rules: ``kill_switch_resume = "manual"`` needs :meth:`RiskManager.resume`;
    ``"cooldown"`` resumes after ``kill_switch_cooldown_s`` with the peak reset to the equity
    then. Book, toxicity and advice halts lift by themselves once their cause is gone, after
    ``resume_delay_s`` of calm.
    """

    max_position: float = bounded(gt=0)
    max_notional: float = bounded(gt=0)
    max_drawdown: float = bounded(gt=0)
    reduce_at: float = bounded(0.8, gt=0, le=1)
    stale_book_s: float = bounded(5.0, gt=0)
    toxic_widen: float = bounded(0.4, ge=0, le=1)
    toxic_pull: float = bounded(0.7, ge=0, le=1)
    toxic_widen_mult: float = bounded(2.0, ge=1)
    max_orders_per_s: float = bounded(10.0, gt=0)
    order_burst: int = bounded(20, ge=1)
    kill_switch_resume: str = bounded("manual", choices=("manual", "cooldown"))
    kill_switch_cooldown_s: float = bounded(300.0, ge=0)
    resume_delay_s: float = bounded(1.0, ge=0)
    lot_size: float = bounded(1e-8, gt=0)
