"""Online calibration of volatility sigma and trade intensity λ(δ) = A·e^(-kδ), all in ticks.

Every ``interval_s`` of (feed or simulated) time one sample is closed: the mid change in ticks
and the deepest distance (in ticks from the interval's opening mid) at which a market trade
printed. sigma is the standard deviation of the mid changes scaled to ticks per √second. λ(δ) is
the number of intervals whose trade depth exceeded δ, per second; ``ln λ = ln A - k·δ`` is fit
by least squares (hftbacktest's GLFT notebook). Fits refresh every ``refresh_s`` on a rolling
window; until enough data exists the estimator reports itself as warming up.
"""

from __future__ import annotations

import math
from collections import deque
from typing import NamedTuple

import numpy as np
import numpy.typing as npt

from mmcore.strategy.config import CalibrationConfig

__all__ = ["Calibration", "ModelParams"]


class ModelParams(NamedTuple):
    """sigma (ticks/√s), A (1/s) and k (1/tick); ``source`` is ``calibrated`` or ``prior``."""

    sigma: float
    a: float
    k: float
    source: str


class Calibration:
    """Rolling sigma, A, k estimator; feed it mids and trades, read :attr:`params`."""

    def __init__(self, cfg: CalibrationConfig, prior: ModelParams) -> None:
        self.cfg = cfg
        self.prior = prior
        size = max(2, round(cfg.window_s / cfg.interval_s))
        self._dmid: deque[float] = deque(maxlen=size)
        self._depth: deque[float] = deque(maxlen=size)  # NaN when no trade in the interval
        self._interval_start: float | None = None
        self._open_mid = math.nan
        self._last_mid = math.nan
        self._deepest = math.nan
        self._next_fit = -math.inf
        self._fitted: ModelParams | None = None

    @property
    def ready(self) -> bool:
        """True once a fit from enough samples exists (the warm-up is over)."""
        return self._fitted is not None

    @property
    def progress(self) -> float:
        """Warm-up progress in [0, 1] (the lower of the two sample requirements)."""
        trades = sum(1 for d in self._depth if d == d)
        return min(
            1.0,
            len(self._dmid) / self.cfg.min_intervals,
            trades / self.cfg.min_trade_intervals,
        )

    @property
    def params(self) -> ModelParams:
        """The latest fit, or the prior while warming up."""
        return self._fitted or self.prior

    def on_mid(self, mid_ticks: float, now: float) -> None:
        """Record the mid (in ticks) at time ``now`` (seconds)."""
        if self._interval_start is None:
            self._interval_start = now
            self._open_mid = mid_ticks
        elif now - self._interval_start >= self.cfg.interval_s:
            self._close_intervals(now)
            if now >= self._next_fit:
                self._refit(now)
        self._last_mid = mid_ticks

    def on_trade(self, price_ticks: float) -> None:
        """Record a market trade's price (ticks); its distance from the interval's mid counts."""
        if self._open_mid != self._open_mid:
            return
        depth = abs(price_ticks - self._open_mid)
        if not depth <= self._deepest:  # also true while _deepest is NaN
            self._deepest = depth

    def _close_intervals(self, now: float) -> None:
        assert self._interval_start is not None
        elapsed = int((now - self._interval_start) / self.cfg.interval_s)
        self._dmid.append(self._last_mid - self._open_mid)
        self._depth.append(self._deepest)
        for _ in range(min(elapsed - 1, self._dmid.maxlen or 0)):  # quiet intervals
            self._dmid.append(0.0)
            self._depth.append(math.nan)
        self._interval_start += elapsed * self.cfg.interval_s
        self._open_mid = self._last_mid
        self._deepest = math.nan

    def _refit(self, now: float) -> None:
        # numpy: a refit walks the whole window (up to window_s / interval_s samples, times
        # max_depth_ticks for the intensity counts); in pure Python that took milliseconds
        # and stalled the quote loop every refresh_s.
        self._next_fit = now + self.cfg.refresh_s
        n = len(self._dmid)
        depth = np.fromiter(self._depth, dtype=np.float64, count=len(self._depth))
        depths = depth[~np.isnan(depth)]
        if n < self.cfg.min_intervals or len(depths) < self.cfg.min_trade_intervals:
            return
        dmid = np.fromiter(self._dmid, dtype=np.float64, count=n)
        sigma = math.sqrt(float(dmid.var(ddof=1)) / self.cfg.interval_s)
        fit = _fit_intensity(depths, n * self.cfg.interval_s, self.cfg.max_depth_ticks)
        if fit is None or sigma <= 0:
            return  # keep the previous fit (or the prior) rather than a degenerate one
        self._fitted = ModelParams(sigma, fit[0], fit[1], "calibrated")


def _fit_intensity(
    depths: npt.NDArray[np.float64], seconds: float, max_depth: int
) -> tuple[float, float] | None:
    """Least-squares fit of ln λ(δ) = ln A - k·δ for δ = 0, 1, ... ticks, up to ``max_depth``
    and while some trade printed deeper than δ. λ(δ) = intervals whose trade depth > δ, per s."""
    ordered = np.sort(depths)
    deltas = np.arange(max_depth, dtype=np.float64)
    deeper = len(ordered) - np.searchsorted(ordered, deltas, side="right")
    used = int(np.count_nonzero(deeper))  # non-increasing in δ: the zeros come last
    if used < 2:
        return None
    xs = deltas[:used]
    ys = np.log(deeper[:used] / seconds)
    mx, my = xs.mean(), ys.mean()
    slope = float(((xs - mx) * (ys - my)).sum() / ((xs - mx) ** 2).sum())
    k = -slope
    if k <= 0:
        return None
    return math.exp(my - slope * mx), k
