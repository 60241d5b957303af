"""The quote model: features + inventory (+ overlay) → target bid and ask ladders in ticks.

Fair value is the microprice plus an optional depth-imbalance alpha. Half-spread and skew
come from GLFT or Avellaneda-Stoikov with online-calibrated sigma, A, k. Prices are rounded away
from fair to the tick and clamped so that no quote crosses the touch (post-only); the spread
never falls below what covers the round-trip maker fee. Sizes shrink on the side that would
grow inventory.
"""

from __future__ import annotations

import math
from typing import NamedTuple

from mmcore._core import Features
from mmcore.strategy.calibration import Calibration, ModelParams
from mmcore.strategy.config import QuoteConfig
from mmcore.strategy.models import avellaneda_stoikov, glft
from mmcore.strategy.overlay import NEUTRAL, Overlay

__all__ = ["Quote", "QuoteDecision", "Quoter"]

_LADDER_CACHE = 4096  # ladders kept for reuse (a few hundred KB at most)


class Quote(NamedTuple):
    """One target order: price in ticks, size in base units."""

    price_ticks: int
    qty: float


class QuoteDecision(NamedTuple):
    """Targets best first per side, and the numbers behind them (for logs and the UI).

    ``status`` is ``quoting``, ``warming_up`` (calibration not ready, ``warmup = wait``),
    ``no_book`` (one side empty) or ``halted`` (a circuit-breaker advice).
    """

    bids: tuple[Quote, ...]
    asks: tuple[Quote, ...]
    fair_ticks: float
    half_spread_ticks: float
    skew_ticks: float
    params: ModelParams
    status: str


class Quoter:
    """Stateful quote model for one symbol (the calibration lives here)."""

    def __init__(self, cfg: QuoteConfig) -> None:
        self.cfg = cfg
        prior = ModelParams(cfg.prior_sigma_ticks, cfg.prior_a, cfg.prior_k, "prior")
        self.calibration = Calibration(cfg.calibration, prior)
        self._inv_tick = 1.0 / cfg.tick_size
        self._min_spread_bps = max(cfg.min_spread_bps, 2.0 * cfg.maker_fee_bps + cfg.fee_margin_bps)
        self._wait_for_calibration = cfg.warmup == "wait"
        self._model_for: ModelParams | None = None
        self._model = (0.0, 0.0)
        # Caches for the hot path: sizes change only with the position or the size overlay;
        # a ladder is a function of (best price, size, side), and the price wanders over a few
        # ticks, so recent ladders are reused (the same tuple also makes the order manager's
        # "same targets" check an identity comparison). Bounded: cleared when full.
        self._sized_for: tuple[float, float] | None = None
        self._sizes = (0.0, 0.0)
        self._ladders: dict[tuple[int, float, int], tuple[Quote, ...]] = {}

    def on_trade(self, price: float) -> None:
        """Feed a market trade price to the intensity calibration."""
        self.calibration.on_trade(price * self._inv_tick)

    def model_spread_bps(self, fair_price: float) -> float:
        """The model's own total spread in bps at ``fair_price`` (the overlay's baseline)."""
        half, _ = self._spread_and_skew(self.calibration.params)
        return 2.0 * half * self.cfg.spread_adj * self.cfg.tick_size / fair_price * 1e4

    def decide(
        self, f: Features, position: float, now: float, overlay: Overlay = NEUTRAL
    ) -> QuoteDecision:
        """Target quotes for features ``f``, signed ``position`` (base units) at ``now`` (s)."""
        cfg = self.cfg
        inv = self._inv_tick
        best_bid, best_ask = f.best_bid, f.best_ask
        params = self.calibration.params
        if not (best_bid == best_bid and best_ask == best_ask):  # NaN: a side is empty
            return QuoteDecision((), (), math.nan, math.nan, math.nan, params, "no_book")
        calibration = self.calibration
        calibration.on_mid(f.mid * inv, now)
        params = calibration.params
        if overlay.halt:
            return QuoteDecision((), (), math.nan, math.nan, math.nan, params, "halted")
        if self._wait_for_calibration and not calibration.ready:
            return QuoteDecision((), (), math.nan, math.nan, math.nan, params, "warming_up")

        micro = f.microprice
        fair = (micro if micro == micro else f.mid) * inv
        imbalance = f.imbalance
        if cfg.imbalance_alpha_ticks and imbalance == imbalance:
            fair += cfg.imbalance_alpha_ticks * imbalance
        half, skew = self._spread_and_skew(params)
        half *= cfg.spread_adj * overlay.spread_mult
        skew *= cfg.skew_adj
        min_half = 0.5e-4 * self._min_spread_bps * fair
        if half < min_half:
            half = min_half
        q = position / cfg.base_size
        bid = math.floor(fair - half - skew * q)
        ask = math.ceil(fair + half - skew * q)
        touch_bid = round(best_bid * inv)
        touch_ask = round(best_ask * inv)
        if bid >= touch_ask:  # post-only: never cross the touch
            bid = touch_ask - 1
        if ask <= touch_bid:
            ask = touch_bid + 1

        limit = cfg.max_position * overlay.limit_mult
        bid_qty, ask_qty = self._sizes_for(position, overlay.size_mult)
        bids = self._ladder(bid, bid_qty, -1) if bid_qty > 0 and position < limit else ()
        asks = self._ladder(ask, ask_qty, 1) if ask_qty > 0 and position > -limit else ()
        return QuoteDecision(bids, asks, fair, half, skew, params, "quoting")

    def _sizes_for(self, position: float, size_mult: float) -> tuple[float, float]:
        """Bid and ask sizes in whole lots: shrunk on the side that would grow inventory."""
        key = (position, size_mult)
        if key != self._sized_for:
            cfg = self.cfg
            frac = max(-1.0, min(1.0, position / cfg.max_position))
            size = cfg.base_size * size_mult
            self._sizes = (
                _to_lots(size * math.exp(-cfg.size_eta * frac), cfg.lot_size),
                _to_lots(size * math.exp(cfg.size_eta * frac), cfg.lot_size),
            )
            self._sized_for = key
        return self._sizes

    def _ladder(self, best: int, qty: float, direction: int) -> tuple[Quote, ...]:
        """``levels`` quotes from ``best`` away from fair (``direction`` -1 bids, +1 asks)."""
        key = (best, qty, direction)
        ladder = self._ladders.get(key)
        if ladder is None:
            if len(self._ladders) >= _LADDER_CACHE:
                self._ladders.clear()
            step = direction * self.cfg.level_spacing_ticks
            ladder = tuple([Quote(best + i * step, qty) for i in range(self.cfg.levels)])
            self._ladders[key] = ladder
        return ladder

    def _spread_and_skew(self, params: ModelParams) -> tuple[float, float]:
        if params is not self._model_for:  # params change only on a refit
            cfg = self.cfg
            if cfg.model == "glft":
                self._model = glft(cfg.gamma, params.sigma, params.a, params.k)
            else:
                self._model = avellaneda_stoikov(
                    cfg.gamma, params.sigma, params.k, cfg.as_horizon_s
                )
            self._model_for = params
        return self._model


def _to_lots(qty: float, lot: float) -> float:
    """Round down to whole lots (a tiny epsilon absorbs float noise like 2.9999999)."""
    return math.floor(qty / lot + 1e-9) * lot
