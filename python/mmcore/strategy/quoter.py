"""The quote model: features + inventory (+ overlay) → target bid and ask ladders in ticks and lots.

Fair value is the microprice plus an optional depth-imbalance alpha. Half-spread and skew
come from GLFT or Avellaneda-Stoikov with online-calibrated sigma, A, k. Prices are rounded away
from fair to the tick and clamped so that no quote crosses the touch (post-only); the spread
never falls below what covers the round-trip maker fee. Sizes are whole lots of
``cfg.lot_size`` (rounded down), shrunk on the side that would grow inventory: the order desk and
the pre-trade gate take them as they are.

The numbers run in Rust (:class:`mmcore._core.QuoteCore`, ``rust/quote/``): calibration, fair
value, model, rounding, clamps and sizes. This class keeps the Python API and builds the
ladders (``levels`` quotes ``level_spacing_ticks`` apart), reusing recent ones.
"""

from __future__ import annotations

import math
from typing import NamedTuple

from mmcore._core import Features, FlowSignal, QuoteCore, fair_price, ladder_prices
from mmcore.strategy.calibration import Calibration, ModelParams, calibration_kwargs
from mmcore.strategy.config import QuoteConfig
from mmcore.strategy.overlay import NEUTRAL, Overlay

__all__ = ["Quote", "QuoteDecision", "Quoter"]

_LADDER_CACHE = 4096  # ladders kept for reuse (a few hundred KB at most)
_STATUSES = ("quoting", "no_book", "halted", "warming_up")  # QuoteCore.decide's status codes
_NAN = math.nan
_new = tuple.__new__  # QuoteDecision without the Python frame of its generated __new__


class Quote(NamedTuple):
    """One target order: price in ticks, size in whole lots (of the quote config's
    ``lot_size``)."""

    price_ticks: int
    lots: int


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


class _BookView(NamedTuple):
    """The book inputs :meth:`QuoteCore.decide` reads, with ``microprice`` standing for the
    fair value this side chose (microprice blend and signal shifts; the core adds the
    imbalance alpha): the real mid still feeds the calibration."""

    best_bid: float
    best_ask: float
    mid: float
    microprice: float
    imbalance: float


class Quoter:
    """Stateful quote model for one symbol (the calibration lives here)."""

    def __init__(self, cfg: QuoteConfig, *, maker_fee_bps: float) -> None:
        """``maker_fee_bps``: the venue's maker fee (its fee schedule is the one source of it);
        the total spread never falls below twice it plus ``cfg.fee_margin_bps``."""
        self.cfg = cfg
        self.maker_fee_bps = maker_fee_bps
        prior = ModelParams(cfg.prior_sigma_bps, cfg.prior_a, cfg.prior_k, "prior")
        self._core = QuoteCore(
            cfg.tick_size,
            cfg.lot_size,
            cfg.base_size,
            cfg.max_position,
            model=cfg.model,
            gamma=cfg.gamma,
            as_horizon_s=cfg.as_horizon_s,
            spread_adj=cfg.spread_adj,
            skew_adj=cfg.skew_adj,
            size_eta=cfg.size_eta,
            imbalance_alpha_ticks=cfg.imbalance_alpha_ticks,
            min_spread_bps=cfg.min_spread_bps,
            maker_fee_bps=maker_fee_bps,
            fee_margin_bps=cfg.fee_margin_bps,
            warmup=cfg.warmup,
            prior_sigma_bps=cfg.prior_sigma_bps,
            prior_a=cfg.prior_a,
            prior_k=cfg.prior_k,
            **calibration_kwargs(cfg.calibration),
        )
        self.calibration = Calibration(self._core, prior)
        self._decide = self._core.decide
        self._inv_tick = 1.0 / cfg.tick_size
        self._flow = FlowSignal(cfg.flow_halflife_s) if cfg.flow_alpha_bps > 0 else None
        #: the last order-flow signal in [-1, 1] (0 while the signal is off)
        self.flow_signal = 0.0
        # A ladder is a function of (best price, size, side), and the price wanders over a few
        # ticks, so recent ladders are reused: one cache per side, keyed by the best price (an
        # int hashes far faster than a tuple), holding the size it was built for. Bounded:
        # cleared when full.
        self._ladders: dict[int, dict[int, tuple[int, tuple[Quote, ...]]]] = {-1: {}, 1: {}}

    @property
    def core(self) -> QuoteCore:
        """The Rust quote model (the engine step calls it directly)."""
        return self._core

    def on_trade(self, price: float) -> None:
        """Feed a market trade price to the intensity calibration."""
        self._core.on_trade(price * self._inv_tick)

    def model_spread_bps(self, fair_price: float) -> float:
        """The model's own total spread in bps at ``fair_price`` (the overlay's baseline)."""
        return self._core.model_spread_ticks() * self.cfg.tick_size / fair_price * 1e4

    def decide(
        self, f: Features, position: float, now: float, overlay: Overlay = NEUTRAL
    ) -> QuoteDecision:
        """Target quotes for features ``f``, signed ``position`` (base units) at ``now`` (s).

        ``ValueError`` for inputs that cannot be priced (a NaN position or size multiplier)."""
        f = self._fair_view(f, now, overlay.lean)
        if overlay is NEUTRAL:
            decided = self._decide(f, position, now)
        else:
            decided = self._decide(
                f,
                position,
                now,
                overlay.spread_mult,
                overlay.size_mult,
                overlay.limit_mult,
                overlay.halt,
            )
        status, bid, ask, bid_lots, ask_lots, fair, half, skew, fits = decided
        params = self.calibration.params_after(fits)
        if status:
            return QuoteDecision((), (), _NAN, _NAN, _NAN, params, _STATUSES[status])
        bids = self._ladder(bid, bid_lots, -1) if bid_lots else ()
        asks = self._ladder(ask, ask_lots, 1) if ask_lots else ()
        return _new(QuoteDecision, (bids, asks, fair, half, skew, params, "quoting"))

    def _fair_view(self, f: Features, now: float, lean: float) -> Features | _BookView:
        """``f`` itself, or a view whose microprice is the fair value moved by the microprice
        weight, the order-flow signal and the advice's lean."""
        cfg = self.cfg
        shift_bps = lean * cfg.overlay.lean_bps
        if self._flow is not None:
            self.flow_signal = self._flow.update(f.ofi_total, now)
            shift_bps += cfg.flow_alpha_bps * self.flow_signal
        fair = fair_price(f.mid, f.microprice, cfg.microprice_weight, shift_bps)
        if fair is None:
            return f
        return _BookView(f.best_bid, f.best_ask, f.mid, fair, f.imbalance)

    def decision(self, row: tuple) -> QuoteDecision:
        """The :class:`QuoteDecision` of the engine step's row ``(status, fair, half, skew,
        fits, bids, asks)`` (``EngineCore.step``): the targets it sent to the desk."""
        status, fair, half, skew, fits, bids, asks = row
        params = self.calibration.params_after(fits)
        if status:
            return QuoteDecision((), (), _NAN, _NAN, _NAN, params, _STATUSES[status])
        return _new(
            QuoteDecision,
            (
                tuple([Quote(p, q) for p, q in bids]),
                tuple([Quote(p, q) for p, q in asks]),
                fair,
                half,
                skew,
                params,
                "quoting",
            ),
        )

    def _ladder(self, best: int, lots: int, direction: int) -> tuple[Quote, ...]:
        """``levels`` quotes of ``lots`` from ``best`` away from fair (``direction`` -1 bids,
        +1 asks)."""
        cache = self._ladders[direction]
        hit = cache.get(best)
        if hit is not None and hit[0] == lots:
            return hit[1]
        if len(cache) >= _LADDER_CACHE:
            cache.clear()
        cfg = self.cfg
        prices = ladder_prices(best, direction, cfg.levels, cfg.level_spacing_ticks)
        ladder = tuple([Quote(price, lots) for price in prices])
        cache[best] = (lots, ladder)
        return ladder
