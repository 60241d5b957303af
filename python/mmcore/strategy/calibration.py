"""Online calibration of volatility sigma and trade intensity λ(δ) = A·e^(-kδ), all in ticks.

Every ``interval_s`` of (feed or simulated) time one sample is closed: the mid change in ticks
and the deepest distance (in ticks from the interval's opening mid) at which a market trade
printed. sigma is the standard deviation of the mid changes scaled to ticks per √second. λ(δ) is
the number of intervals whose trade depth exceeded δ, per second; ``ln λ = ln A - k·δ`` is fit
by least squares (hftbacktest's GLFT notebook; :func:`mmcore._core.fit_intensity`). Fits
refresh every ``refresh_s`` on a rolling window; until enough data exists the estimator reports
itself as warming up. The quote model converts each fit to bps of price and blends it with its
priors (:class:`ModelParams` are in bps).

The estimator runs in Rust, inside :class:`mmcore._core.QuoteCore` (``rust/quote/``), next to
the quote model that reads it; :class:`Calibration` is its Python face.
"""

from __future__ import annotations

from typing import Any, NamedTuple

from mmcore._core import QuoteCore
from mmcore.strategy.config import CalibrationConfig

__all__ = ["Calibration", "ModelParams", "calibration_kwargs"]


class ModelParams(NamedTuple):
    """sigma (bps/√s), A (1/s) and k (1/bps) the quote model uses; ``source`` is
    ``calibrated`` (the priors blended with a fit) or ``prior``."""

    sigma: float
    a: float
    k: float
    source: str


def calibration_kwargs(cfg: CalibrationConfig) -> dict[str, Any]:
    """``cfg`` as :class:`mmcore._core.QuoteCore` keyword arguments."""
    return dict(
        interval_s=cfg.interval_s,
        window_s=cfg.window_s,
        refresh_s=cfg.refresh_s,
        min_intervals=cfg.min_intervals,
        min_trade_intervals=cfg.min_trade_intervals,
        max_depth_ticks=cfg.max_depth_ticks,
    )


class Calibration:
    """The quote model's rolling sigma, A, k estimator (it lives in the :class:`QuoteCore`
    the :class:`~mmcore.strategy.quoter.Quoter` owns): feed it mids and trades, read
    :attr:`params`. ``prior`` is what the core was built with."""

    def __init__(self, core: QuoteCore, prior: ModelParams) -> None:
        self.prior = prior
        self._core = core
        self._fits = 0  # the core's fit count that _params reflects
        self._params = prior

    @property
    def ready(self) -> bool:
        """True once a fit from enough samples exists (the warm-up is over)."""
        return self._core.ready

    @property
    def progress(self) -> float:
        """Warm-up progress in [0, 1] (the lower of the two sample requirements)."""
        return self._core.progress

    @property
    def params(self) -> ModelParams:
        """The priors blended with the latest fit, or the priors while warming up."""
        return self.params_after(self._core.fits)

    def params_after(self, fits: int) -> ModelParams:
        """:attr:`params` once the core has made ``fits`` fits (``QuoteCore.decide`` reports
        the count): one tuple per fit, so an unchanged fit is an identity hit."""
        if fits != self._fits:
            sigma, a, k, calibrated = self._core.params
            self._params = ModelParams(sigma, a, k, "calibrated") if calibrated else self.prior
            self._fits = fits
        return self._params

    def on_mid(self, mid_ticks: float, now: float) -> None:
        """Record the mid (in ticks) at time ``now`` (seconds)."""
        self._core.on_mid(mid_ticks, now)

    def on_trade(self, price_ticks: float) -> None:
        """Record a market trade's price (ticks); its distance from the interval's mid counts."""
        self._core.on_trade(price_ticks)
