"""Quote-model configuration (``[strategy]`` in the TOML file)."""

from __future__ import annotations

from dataclasses import dataclass, field

from mmcore.config import bounded

__all__ = ["CalibrationConfig", "OverlayConfig", "QuoteConfig"]


@dataclass(frozen=True, slots=True)
class CalibrationConfig:
    """Online estimation of sigma, A and k in ticks (hftbacktest's method, rolling windows).

    Every ``interval_s`` the mid change and the deepest trade distance from the previous mid
    are sampled; the fit runs every ``refresh_s`` over the last ``window_s``. The model is
    warming up until ``min_intervals`` samples and ``min_trade_intervals`` intervals with
    trades exist.
    """

    interval_s: float = bounded(0.1, gt=0)
    window_s: float = bounded(600.0, gt=0)
    refresh_s: float = bounded(5.0, gt=0)
    min_intervals: int = bounded(300, ge=2)
    min_trade_intervals: int = bounded(20, ge=2)
    max_depth_ticks: int = bounded(70, ge=2)


@dataclass(frozen=True, slots=True)
class OverlayConfig:
    """Bounds on how far advice may move the model (multipliers clamp to these)."""

    min_spread_mult: float = bounded(0.5, gt=0)
    max_spread_mult: float = bounded(3.0, gt=0)
    min_size_mult: float = bounded(0.3, ge=0)
    max_size_mult: float = bounded(1.5, gt=0)
    min_limit_mult: float = bounded(0.0, ge=0, le=1)
    #: fair-value shift (bps) for a full-confidence lean (the signal advisor's ``action``)
    lean_bps: float = bounded(1.0, ge=0, le=100)


@dataclass(frozen=True, slots=True)
class QuoteConfig:
    """Parameters of the quote model. Sizes are in base units; risk aversion and priors are in
    bps of price, so one config means the same quotes whatever the tick: ``gamma`` per bps,
    ``prior_sigma_bps`` per √s, ``prior_a`` per second, ``prior_k`` per bps of distance.
    The online fits (in ticks) are converted at the fair value and blended with the priors,
    weight ``n / (n + calibration.min_intervals)`` on a fit of ``n`` samples.

    The maker fee is not here: it is the venue's (the paper venue's ``maker_fee_bps``, handed
    to :class:`~mmcore.strategy.quoter.Quoter`), so the spread floor never disagrees with what
    the venue charges. ``fee_margin_bps`` is added to the round-trip fee for the expected
    adverse selection of a fill.

    Fair value is ``mid + microprice_weight · (microprice - mid)`` (plus the depth-imbalance
    alpha), moved by the order-flow signal: ``flow_alpha_bps`` times the book's order-flow
    imbalance (Cont-Kukanov-Stoikov OFI) over its absolute value, both decayed with half-life
    ``flow_halflife_s``, so the shift is bounded by ``flow_alpha_bps`` (0: off).

    ``gamma`` is the risk aversion of the chosen ``model`` (``glft`` or ``as``); the priors
    (``prior_*``) are used while the calibration warms up when ``warmup`` is ``fallback``;
    with ``wait`` nothing is quoted until it is ready.
    """

    tick_size: float = bounded(gt=0)
    lot_size: float = bounded(gt=0)
    base_size: float = bounded(gt=0)
    max_position: float = bounded(gt=0)
    model: str = bounded("glft", choices=("glft", "as"))
    gamma: float = bounded(0.05, gt=0)
    as_horizon_s: float = bounded(1.0, gt=0)
    spread_adj: float = bounded(1.0, gt=0)
    skew_adj: float = bounded(1.0, ge=0)
    levels: int = bounded(1, ge=1, le=20)
    level_spacing_ticks: int = bounded(1, ge=1)
    size_eta: float = bounded(1.0, ge=0)
    imbalance_alpha_ticks: float = 0.0
    microprice_weight: float = bounded(1.0, ge=0, le=1)
    flow_alpha_bps: float = bounded(0.0, ge=0, le=100)
    flow_halflife_s: float = bounded(2.0, gt=0)
    min_spread_bps: float = bounded(0.0, ge=0)
    fee_margin_bps: float = bounded(0.5, ge=0)
    warmup: str = bounded("fallback", choices=("fallback", "wait"))
    prior_sigma_bps: float = bounded(1.0, gt=0)
    prior_a: float = bounded(1.0, gt=0)
    prior_k: float = bounded(0.5, gt=0)
    calibration: CalibrationConfig = field(default_factory=CalibrationConfig)
    overlay: OverlayConfig = field(default_factory=OverlayConfig)
