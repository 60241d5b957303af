"""Advice overlay: the latest valid advice turned into bounded multipliers for the quoter.

Advice decays to neutral by its TTL (see :class:`mmcore.advisors.advice.Advice`); expired
advice reads as None from the service, which gives :data:`NEUTRAL`: the model's own values.
"""

from __future__ import annotations

from typing import NamedTuple

from mmcore.advisors.service import LatestAdvice
from mmcore.strategy.config import OverlayConfig

__all__ = ["NEUTRAL", "Overlay", "overlay_from"]


class Overlay(NamedTuple):
    """Multipliers on spread, size and the position limit, plus halt and toxicity signals, and
    the signal advisor's ``lean`` in [-1, 1] (+ towards buying, - towards selling, scaled by
    its confidence): the quoter moves fair value by ``lean · OverlayConfig.lean_bps``, so the
    side leaned to is tighter and the other wider (asymmetric, unlike the multipliers)."""

    spread_mult: float
    size_mult: float
    limit_mult: float
    toxic_probability: float
    halt: bool
    source: str
    lean: float = 0.0


NEUTRAL = Overlay(1.0, 1.0, 1.0, 0.0, False, "none")
_LEAN = {"bid": 1.0, "ask": -1.0, "hold": 0.0}


def _clamp(x: float, lo: float, hi: float) -> float:
    return lo if x < lo else hi if x > hi else x


def overlay_from(
    latest: LatestAdvice | None, now: float, model_spread_bps: float, cfg: OverlayConfig
) -> Overlay:
    """Bounded overlay from ``latest`` advice at monotonic ``now``.

    ``model_spread_bps`` is the model's own total spread: the advised ``spread_bps`` decays
    towards it and the ratio (plus the risk advisor's ``spread_adjustment_bps``) becomes the
    spread multiplier, clamped to the configured bounds.
    """
    if latest is None or (latest.signal is None and latest.risk is None):
        return NEUTRAL
    signal, risk = latest.signal, latest.risk
    base = model_spread_bps if model_spread_bps > 0 else 1.0
    target_bps = base
    size_mult = 1.0
    limit_mult = 1.0
    toxic = 0.0
    halt = False
    lean = 0.0
    if signal is not None:
        target_bps = signal.value("spread_bps", now, baseline=base)
        size_mult = signal.value("quantity_factor", now)
        lean = _LEAN[signal.value("action", now)] * signal.value("confidence", now)
    if risk is not None:
        target_bps += risk.value("spread_adjustment_bps", now)
        limit_mult = risk.value("max_position", now)
        toxic = risk.value("toxic_flow_probability", now)
        halt = bool(risk.value("circuit_breaker", now))
    return Overlay(
        _clamp(target_bps / base, cfg.min_spread_mult, cfg.max_spread_mult),
        _clamp(size_mult, cfg.min_size_mult, cfg.max_size_mult),
        _clamp(limit_mult, cfg.min_limit_mult, 1.0),
        _clamp(toxic, 0.0, 1.0),
        halt,
        "advice",
        _clamp(lean, -1.0, 1.0),
    )
