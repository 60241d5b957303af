//! The quote model: features + inventory (+ overlay) → target best bid and ask in ticks, and
//! their sizes.
//!
//! Fair value is the microprice (the mid when it is undefined) plus an optional depth-imbalance
//! alpha. Half-spread and skew come from GLFT or Avellaneda–Stoikov ([`models`]) evaluated in
//! bps of price, so the same γ and priors mean the same quotes for a 1-USD and a 0.1-USD tick:
//! σ, A, k are the priors blended with the online fits ([`calibration`], in ticks, converted at
//! the fair value of the fit) by the fit's sample count `n`, weight `n / (n + min_intervals)` on
//! the fit (no jump at the end of the warm-up); the model is recomputed only when a refit
//! changes them, and turned into ticks at each decision's fair value.
//! Prices are rounded away from fair to the tick and clamped so that no quote crosses the touch
//! (post-only); the spread never falls below what covers the round-trip maker fee. Prices come
//! out as whole ticks ([`Price`]) and sizes as whole lots ([`Qty`], rounded down, so a size never
//! exceeds what the model asked for): the desk and the gate take them as they are. Sizes shrink
//! on the side that would grow inventory; a side is dropped at the position limit.
//!
//! A port of the numeric part of the Python `Quoter.decide` (before the Rust port) with the
//! same float operations in the same order; the ladders (levels beyond the best) are built by
//! the Python `Quoter`. Inputs that made the Python model raise (a NaN position or size
//! multiplier, an infinite price) are a [`ArgError`] here.

pub mod calibration;
pub mod models;

use crate::arg_error::ArgError;
use crate::arg_error::{finite, non_negative, positive};
use crate::model::{LotSize, Price, Qty, Rounding};

pub use calibration::{fit_intensity, Calibration, CalibrationConfig, ModelParams};
pub use models::{avellaneda_stoikov, glft};

/// The closed-form model behind half-spread and skew.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Model {
    /// Guéant–Lehalle–Fernandez-Tapia ([`glft`]).
    Glft,
    /// Avellaneda–Stoikov ([`avellaneda_stoikov`]) with a rolling horizon.
    AvellanedaStoikov,
}

/// What happens while the calibration warms up.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Warmup {
    /// Quote on the priors.
    Fallback,
    /// Quote nothing ([`Status::WarmingUp`]).
    Wait,
}

/// The quote model's parameters (the numeric part of the Python `QuoteConfig`). Risk aversion
/// and priors are in bps of price, sizes in base units, fees in bps.
#[derive(Clone, Debug, PartialEq)]
pub struct QuoteConfig {
    pub tick_size: f64,
    pub lot_size: f64,
    pub base_size: f64,
    pub max_position: f64,
    pub model: Model,
    /// Risk aversion (the model's ξ), per bps of price.
    pub gamma: f64,
    /// Avellaneda–Stoikov's T - t.
    pub as_horizon_s: f64,
    /// Multiplier on the model's half-spread.
    pub spread_adj: f64,
    /// Multiplier on the model's skew.
    pub skew_adj: f64,
    /// Size shaping: the side growing inventory is `e^(-size_eta·position/max_position)`.
    pub size_eta: f64,
    /// Ticks added to fair per unit of depth imbalance (0: none).
    pub imbalance_alpha_ticks: f64,
    pub min_spread_bps: f64,
    pub maker_fee_bps: f64,
    /// Added to the round-trip maker fee for the minimum spread.
    pub fee_margin_bps: f64,
    pub warmup: Warmup,
    /// The prior σ (bps/√s), A (1/s) and k (1/bps), blended with the calibration's fits.
    pub prior: ModelParams,
    pub calibration: CalibrationConfig,
}

impl Default for QuoteConfig {
    /// The Python `QuoteConfig` defaults, with a 0.01 tick, 0.0001 lot, 0.01 base size and 0.1
    /// maximum position (those have no default there).
    fn default() -> Self {
        QuoteConfig {
            tick_size: 0.01,
            lot_size: 0.0001,
            base_size: 0.01,
            max_position: 0.1,
            model: Model::Glft,
            gamma: 0.05,
            as_horizon_s: 1.0,
            spread_adj: 1.0,
            skew_adj: 1.0,
            size_eta: 1.0,
            imbalance_alpha_ticks: 0.0,
            min_spread_bps: 0.0,
            maker_fee_bps: 0.0,
            fee_margin_bps: 0.5,
            warmup: Warmup::Fallback,
            prior: ModelParams {
                sigma: 1.0,
                a: 1.0,
                k: 0.5,
            },
            calibration: CalibrationConfig::default(),
        }
    }
}

impl QuoteConfig {
    /// Checks every value against the Python `QuoteConfig` bounds (and finiteness).
    pub fn validate(&self) -> Result<(), ArgError> {
        positive(&[
            ("tick_size", self.tick_size),
            ("lot_size", self.lot_size),
            ("base_size", self.base_size),
            ("max_position", self.max_position),
            ("gamma", self.gamma),
            ("as_horizon_s", self.as_horizon_s),
            ("spread_adj", self.spread_adj),
            ("prior_sigma_bps", self.prior.sigma),
            ("prior_a", self.prior.a),
            ("prior_k", self.prior.k),
        ])?;
        non_negative(&[
            ("skew_adj", self.skew_adj),
            ("size_eta", self.size_eta),
            ("min_spread_bps", self.min_spread_bps),
            ("fee_margin_bps", self.fee_margin_bps),
        ])?;
        finite(&[("imbalance_alpha_ticks", self.imbalance_alpha_ticks)])?;
        if !(-10.0..=100.0).contains(&self.maker_fee_bps) {
            return Err(ArgError::new(
                "maker_fee_bps",
                format!("must be in [-10, 100], got {}", self.maker_fee_bps),
            ));
        }
        self.calibration.validate()
    }
}

/// What a decision is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub enum Status {
    /// Targets were computed (either side may still be empty at a position limit).
    Quoting = 0,
    /// A side of the book is empty: nothing is quoted and the calibration is not fed.
    NoBook = 1,
    /// The overlay halts quoting (a circuit-breaker advice).
    Halted = 2,
    /// The calibration is not ready and the warm-up policy is [`Warmup::Wait`].
    WarmingUp = 3,
}

impl Status {
    /// The Python status string.
    pub fn name(self) -> &'static str {
        match self {
            Status::Quoting => "quoting",
            Status::NoBook => "no_book",
            Status::Halted => "halted",
            Status::WarmingUp => "warming_up",
        }
    }
}

/// One decision's inputs: the book's top (from a features record), the signed position in base
/// units, the time in seconds and the advice overlay's multipliers.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Inputs {
    /// NaN when the side is empty.
    pub best_bid: f64,
    /// NaN when the side is empty.
    pub best_ask: f64,
    pub mid: f64,
    /// NaN: use the mid.
    pub microprice: f64,
    /// Depth imbalance in [-1, 1]; NaN: no alpha.
    pub imbalance: f64,
    pub position: f64,
    pub now: f64,
    pub spread_mult: f64,
    pub size_mult: f64,
    pub limit_mult: f64,
    pub halt: bool,
}

impl Inputs {
    /// A decision at a neutral overlay.
    pub fn new(best_bid: f64, best_ask: f64, position: f64, now: f64) -> Self {
        let mid = (best_bid + best_ask) / 2.0;
        Inputs {
            best_bid,
            best_ask,
            mid,
            microprice: mid,
            imbalance: 0.0,
            position,
            now,
            spread_mult: 1.0,
            size_mult: 1.0,
            limit_mult: 1.0,
            halt: false,
        }
    }
}

/// The best target on each side (`*_qty` 0: no order on that side) and the numbers behind
/// them. Unless the status is [`Status::Quoting`] both sizes are 0 and `fair`, `half`, `skew`
/// are NaN.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Decision {
    pub status: Status,
    /// Best bid price.
    pub bid: Price,
    /// Best ask price.
    pub ask: Price,
    /// Bid size in lots; 0: no bid.
    pub bid_qty: Qty,
    /// Ask size in lots; 0: no ask.
    pub ask_qty: Qty,
    /// Fair value in ticks.
    pub fair: f64,
    /// Half-spread in ticks, after multipliers and the fee floor.
    pub half: f64,
    /// Skew in ticks per base size of position.
    pub skew: f64,
}

impl Decision {
    fn empty(status: Status) -> Self {
        Decision {
            status,
            bid: Price(0),
            ask: Price(0),
            bid_qty: Qty::ZERO,
            ask_qty: Qty::ZERO,
            fair: f64::NAN,
            half: f64::NAN,
            skew: f64::NAN,
        }
    }
}

/// Stateful quote model for one symbol (the calibration lives here).
#[derive(Clone, Debug)]
pub struct Quoter {
    cfg: QuoteConfig,
    calibration: Calibration,
    lot: LotSize,
    inv_tick: f64,
    /// `0.5e-4 · max(min_spread_bps, 2·maker_fee_bps + fee_margin_bps)`: per tick of fair.
    min_half_per_fair: f64,
    /// The blended σ, A, k (bps units) for the calibration's `model_fits`-th fit, and whether
    /// any fit is in them.
    params: (ModelParams, bool),
    /// `(half, skew)` of the model in bps for `params`.
    model: (f64, f64),
    model_fits: u64,
    /// Ticks per bps at the last decision's fair value (NaN before the first).
    scale: f64,
    /// Sizes for the `(position, size_mult)` bits last asked for.
    sized_for: (u64, u64),
    sizes: (Qty, Qty),
    /// Decisions refused for bad inputs.
    pub refused: u64,
}

impl Quoter {
    pub fn new(cfg: QuoteConfig) -> Result<Self, ArgError> {
        cfg.validate()?;
        let calibration = Calibration::new(cfg.calibration.clone())?;
        let fee_floor = 2.0 * cfg.maker_fee_bps + cfg.fee_margin_bps;
        // Python's max(): the first argument unless the second is greater
        let min_spread_bps = if fee_floor > cfg.min_spread_bps {
            fee_floor
        } else {
            cfg.min_spread_bps
        };
        let model = spread_and_skew(&cfg, cfg.prior);
        let mut quoter = Quoter {
            lot: LotSize::new(cfg.lot_size)?,
            inv_tick: 1.0 / cfg.tick_size,
            min_half_per_fair: 0.5e-4 * min_spread_bps,
            params: (cfg.prior, false),
            cfg,
            calibration,
            model,
            model_fits: 0,
            scale: f64::NAN,
            sized_for: (0, 0),
            sizes: (Qty::ZERO, Qty::ZERO),
            refused: 0,
        };
        quoter.sizes = quoter.compute_sizes(0.0, 1.0)?;
        quoter.sized_for = (0.0f64.to_bits(), 1.0f64.to_bits());
        Ok(quoter)
    }

    pub fn config(&self) -> &QuoteConfig {
        &self.cfg
    }

    pub fn calibration(&self) -> &Calibration {
        &self.calibration
    }

    /// Feeds the calibration a mid in ticks at `now` (`decide` does it for every book).
    pub fn on_mid(&mut self, mid_ticks: f64, now: f64) {
        self.scale = 1e-4 * mid_ticks;
        self.calibration.on_mid(mid_ticks, now);
    }

    /// Feeds the intensity calibration a market trade's price in ticks.
    pub fn on_trade(&mut self, price_ticks: f64) {
        self.calibration.on_trade(price_ticks);
    }

    /// The σ, A, k the model uses (bps units: the priors blended with the latest fit) and
    /// whether a fit is in them.
    pub fn params(&mut self) -> (ModelParams, bool) {
        self.model(); // blends a fit made since the last decision
        self.params
    }

    /// The model's `(half_spread, skew)` in bps of price for the current parameters, before
    /// the multipliers and the fee floor.
    pub fn model(&mut self) -> (f64, f64) {
        let fits = self.calibration.fits();
        if fits != self.model_fits {
            // parameters change only on a refit
            if let Some(fit) = self.calibration.fitted() {
                self.params = (self.blend(fit), true);
                self.model = spread_and_skew(&self.cfg, self.params.0);
            }
            self.model_fits = fits;
        }
        self.model
    }

    /// The prior blended with a fit in ticks (converted at the last fair value): weight
    /// `n / (n + min_intervals)` on the fit of `n` samples.
    fn blend(&self, fit: ModelParams) -> ModelParams {
        let n = self.calibration.samples() as f64;
        let w = n / (n + self.cfg.calibration.min_intervals as f64);
        let prior = self.cfg.prior;
        let s = self.scale; // ticks per bps: the fit exists, so a decision has set it
        ModelParams {
            sigma: (1.0 - w) * prior.sigma + w * fit.sigma / s,
            a: (1.0 - w) * prior.a + w * fit.a,
            k: (1.0 - w) * prior.k + w * fit.k * s,
        }
    }

    /// The model's own total spread in ticks at the last decision's fair value,
    /// `2 · half · spread_adj` (the overlay's baseline; NaN before the first decision).
    pub fn model_spread_ticks(&mut self) -> f64 {
        let (half, _) = self.model();
        2.0 * half * self.cfg.spread_adj * self.scale
    }

    /// Target best bid and ask for one book: feeds the calibration the mid, then prices and
    /// sizes the quotes (see the module documentation). Inputs that are ±inf or negative (NaN
    /// marks an absent book field), a time or (unless halted) a position that is not finite,
    /// and multipliers that are not finite and >= 0 are refused before anything changes
    /// (counted in [`Quoter::refused`]).
    pub fn decide(&mut self, x: &Inputs) -> Result<Decision, ArgError> {
        if let Err(err) = check_inputs(x) {
            self.refused += 1;
            return Err(err);
        }
        if x.best_bid.is_nan() || x.best_ask.is_nan() {
            return Ok(Decision::empty(Status::NoBook));
        }
        let inv = self.inv_tick;
        // ticks per bps at this mid: what a fit made on this mid is converted with
        self.scale = 1e-4 * x.mid * inv;
        self.calibration.on_mid(x.mid * inv, x.now);
        if x.halt {
            return Ok(Decision::empty(Status::Halted));
        }
        if self.cfg.warmup == Warmup::Wait && !self.calibration.ready() {
            return Ok(Decision::empty(Status::WarmingUp));
        }
        let cfg = &self.cfg;
        let micro = x.microprice;
        let mut fair = if micro.is_nan() { x.mid } else { micro } * inv;
        if cfg.imbalance_alpha_ticks != 0.0 && !x.imbalance.is_nan() {
            fair += cfg.imbalance_alpha_ticks * x.imbalance;
        }
        let (half, skew) = self.model();
        let scale = 1e-4 * fair; // ticks per bps at this fair value
        let cfg = &self.cfg;
        let mut half = half * scale * (cfg.spread_adj * x.spread_mult);
        let skew = skew * scale * cfg.skew_adj;
        let min_half = self.min_half_per_fair * fair;
        if half < min_half {
            half = min_half;
        }
        let q = x.position / cfg.base_size;
        let raw_bid = (fair - half - skew * q).floor();
        let raw_ask = (fair + half - skew * q).ceil();
        if !(in_tick_range(raw_bid) && in_tick_range(raw_ask)) {
            let arg = if !x.position.is_finite() {
                "position"
            } else if !x.spread_mult.is_finite() {
                "spread_mult"
            } else {
                "features"
            };
            return Err(ArgError::new(
                arg,
                format!(
                    "quote prices are not finite ticks (fair={fair}, half={half}, skew={skew}, \
                     position={})",
                    x.position
                ),
            ));
        }
        let touch_bid = to_ticks(x.best_bid * inv, "best_bid")?;
        let touch_ask = to_ticks(x.best_ask * inv, "best_ask")?;
        let mut bid = Price(raw_bid as i64);
        let mut ask = Price(raw_ask as i64);
        if bid >= touch_ask {
            // post-only: never cross the touch
            bid = touch_ask - 1;
        }
        if ask <= touch_bid {
            ask = touch_bid + 1;
        }
        let limit = self.cfg.max_position * x.limit_mult;
        let (bid_qty, ask_qty) = self.sizes(x.position, x.size_mult)?;
        Ok(Decision {
            status: Status::Quoting,
            bid,
            ask,
            bid_qty: if x.position < limit {
                bid_qty
            } else {
                Qty::ZERO
            },
            ask_qty: if x.position > -limit {
                ask_qty
            } else {
                Qty::ZERO
            },
            fair,
            half,
            skew,
        })
    }

    /// Bid and ask sizes in whole lots: shrunk on the side that would grow inventory.
    fn sizes(&mut self, position: f64, size_mult: f64) -> Result<(Qty, Qty), ArgError> {
        let key = (position.to_bits(), size_mult.to_bits());
        if key != self.sized_for {
            self.sizes = self.compute_sizes(position, size_mult)?;
            self.sized_for = key;
        }
        Ok(self.sizes)
    }

    /// Sizes rounded down to whole lots (a size within 1e-9 of a lot multiple, float noise like
    /// 2.9999999999999996 lots, counts as that multiple).
    fn compute_sizes(&self, position: f64, size_mult: f64) -> Result<(Qty, Qty), ArgError> {
        let cfg = &self.cfg;
        // Python's max(-1.0, min(1.0, x)): NaN gives 1.0
        let frac = position / cfg.max_position;
        let frac = if frac < 1.0 { frac } else { 1.0 };
        let frac = if frac > -1.0 { frac } else { -1.0 };
        let size = cfg.base_size * size_mult;
        let bid = size * (-cfg.size_eta * frac).exp();
        let ask = size * (cfg.size_eta * frac).exp();
        let lots = |units: f64| self.lot.lots("size_mult", units, Rounding::Down);
        match (lots(bid), lots(ask)) {
            (Ok(bid), Ok(ask)) => Ok((bid, ask)),
            _ => Err(ArgError::new(
                "size_mult",
                format!("sizes are not finite lots (size_mult={size_mult}, position={position})"),
            )),
        }
    }
}

fn spread_and_skew(cfg: &QuoteConfig, p: ModelParams) -> (f64, f64) {
    match cfg.model {
        Model::Glft => glft(cfg.gamma, p.sigma, p.a, p.k),
        Model::AvellanedaStoikov => avellaneda_stoikov(cfg.gamma, p.sigma, p.k, cfg.as_horizon_s),
    }
}

/// The fail-closed checks of [`Quoter::decide`].
fn check_inputs(x: &Inputs) -> Result<(), ArgError> {
    for (arg, value) in [
        ("best_bid", x.best_bid),
        ("best_ask", x.best_ask),
        ("mid", x.mid),
        ("microprice", x.microprice),
    ] {
        if value.is_infinite() || value < 0.0 {
            return Err(ArgError::new(
                arg,
                format!("must be NaN (absent) or finite and >= 0, got {value}"),
            ));
        }
    }
    if x.imbalance.is_infinite() {
        return Err(ArgError::new("imbalance", "must not be infinite"));
    }
    finite(&[("now", x.now)])?;
    if !x.halt {
        finite(&[("position", x.position)])?;
        non_negative(&[
            ("spread_mult", x.spread_mult),
            ("size_mult", x.size_mult),
            ("limit_mult", x.limit_mult),
        ])?;
    }
    Ok(())
}

/// Whole ticks representable as i64 with room for the ±1 of the post-only clamp.
fn in_tick_range(ticks: f64) -> bool {
    ticks.abs() < 9.0e18 // also false for NaN
}

/// `round(price_ticks)` as Python rounds (ties to even).
fn to_ticks(price_ticks: f64, arg: &'static str) -> Result<Price, ArgError> {
    let ticks = price_ticks.round_ties_even();
    if in_tick_range(ticks) {
        Ok(Price(ticks as i64))
    } else {
        Err(ArgError::new(
            arg,
            format!("not a finite price in ticks: {price_ticks}"),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TICK: f64 = 0.01;

    fn quoter(edit: impl FnOnce(&mut QuoteConfig)) -> Quoter {
        let mut cfg = QuoteConfig {
            fee_margin_bps: 0.0,
            ..QuoteConfig::default()
        };
        edit(&mut cfg);
        Quoter::new(cfg).unwrap()
    }

    /// A book with sizes: microprice and imbalance as the features record computes them.
    fn book(bid: f64, ask: f64, bid_size: f64, ask_size: f64, position: f64) -> Inputs {
        Inputs {
            microprice: (bid * ask_size + ask * bid_size) / (bid_size + ask_size),
            imbalance: (bid_size - ask_size) / (bid_size + ask_size),
            ..Inputs::new(bid, ask, position, 1.0)
        }
    }

    #[test]
    fn quotes_round_away_from_fair_to_whole_ticks() {
        let mut q = quoter(|c| c.skew_adj = 0.0);
        let d = q.decide(&Inputs::new(100.00, 100.10, 0.0, 1.0)).unwrap();
        assert_eq!(d.status, Status::Quoting);
        assert_eq!(d.bid.ticks() as f64, (d.fair - d.half).floor());
        assert_eq!(d.ask.ticks() as f64, (d.fair + d.half).ceil());
        assert!((d.fair - 10005.0).abs() < 1e-9);
        assert_eq!((d.bid_qty, d.ask_qty), (Qty(100), Qty(100)));
    }

    #[test]
    fn inventory_skews_prices_and_sizes_against_the_position() {
        for model in [Model::Glft, Model::AvellanedaStoikov] {
            let mut q = quoter(|c| {
                c.model = model;
                c.gamma = 0.5;
            });
            let flat = q.decide(&Inputs::new(100.00, 100.10, 0.0, 1.0)).unwrap();
            let long = q.decide(&Inputs::new(100.00, 100.10, 0.05, 1.0)).unwrap();
            let short = q.decide(&Inputs::new(100.00, 100.10, -0.05, 1.0)).unwrap();
            assert!(long.bid < flat.bid && long.ask < flat.ask);
            assert!(short.bid > flat.bid && short.ask > flat.ask);
            assert!(long.bid_qty < flat.bid_qty && flat.bid_qty < long.ask_qty);
            assert!(short.ask_qty < flat.ask_qty && flat.ask_qty < short.bid_qty);
        }
    }

    #[test]
    fn quotes_never_cross_the_touch() {
        let mut q = quoter(|c| {
            c.skew_adj = 50.0;
            c.imbalance_alpha_ticks = 20.0;
        });
        for (i, position) in [-0.099, -0.05, 0.0, 0.05, 0.099].into_iter().enumerate() {
            for spread in 1..5 {
                let bid = 100.0 + i as f64 * TICK;
                let ask = bid + spread as f64 * TICK;
                for (bs, asz) in [(0.01, 5.0), (5.0, 0.01), (1.0, 1.0)] {
                    let d = q.decide(&book(bid, ask, bs, asz, position)).unwrap();
                    assert!(d.bid < Price((ask / TICK).round() as i64));
                    assert!(d.ask > Price((bid / TICK).round() as i64));
                }
            }
        }
    }

    #[test]
    fn sides_stop_at_the_position_limit_scaled_by_the_overlay() {
        let mut q = quoter(|_| {});
        let at = |position: f64, limit_mult: f64| Inputs {
            limit_mult,
            ..Inputs::new(100.0, 100.1, position, 1.0)
        };
        let d = q.decide(&at(0.1, 1.0)).unwrap();
        assert!(d.bid_qty == Qty::ZERO && d.ask_qty.is_positive());
        let d = q.decide(&at(-0.1, 1.0)).unwrap();
        assert!(d.bid_qty.is_positive() && d.ask_qty == Qty::ZERO);
        let d = q.decide(&at(0.05, 0.5)).unwrap();
        assert!(d.bid_qty == Qty::ZERO && d.ask_qty.is_positive());
        let d = q.decide(&at(0.0, 0.0)).unwrap(); // no limit at all: nothing
        assert!(d.bid_qty == Qty::ZERO && d.ask_qty == Qty::ZERO && d.status == Status::Quoting);
    }

    #[test]
    fn minimum_spread_covers_round_trip_maker_fees() {
        let mut q = quoter(|c| {
            c.maker_fee_bps = 2.0;
            c.fee_margin_bps = 1.0;
        });
        let d = q.decide(&Inputs::new(100.00, 100.01, 0.0, 1.0)).unwrap();
        let bps = (d.ask - d.bid) as f64 / d.fair * 1e4;
        assert!(bps >= 5.0, "{bps}");
        assert_eq!(d.half, 0.5e-4 * 5.0 * d.fair);
    }

    #[test]
    fn sizes_are_whole_lots_with_an_epsilon_for_float_noise() {
        // 0.0003 / 0.0001 = 2.9999999999999996: the epsilon keeps three lots
        let mut q = quoter(|c| {
            c.base_size = 0.0003;
            c.size_eta = 0.0;
        });
        let d = q.decide(&Inputs::new(100.0, 100.1, 0.0, 1.0)).unwrap();
        assert_eq!(d.bid_qty, Qty(3));
        let half = Inputs {
            size_mult: 0.5,
            ..Inputs::new(100.0, 100.1, 0.0, 1.0)
        };
        let d = q.decide(&half).unwrap();
        assert_eq!(d.bid_qty, Qty(1)); // 1.5 lots: one
        let tiny = Inputs {
            size_mult: 0.1,
            ..half
        };
        let d = q.decide(&tiny).unwrap();
        assert!(d.status == Status::Quoting && d.bid_qty == Qty::ZERO && d.ask_qty == Qty::ZERO);
    }

    #[test]
    fn statuses_no_book_halted_warming_up() {
        let mut q = quoter(|c| c.warmup = Warmup::Wait);
        let empty = Inputs::new(f64::NAN, 100.1, 0.0, 1.0);
        assert_eq!(q.decide(&empty).unwrap().status, Status::NoBook);
        assert!(q.calibration().progress() == 0.0);
        let halted = Inputs {
            halt: true,
            ..Inputs::new(100.0, 100.1, 0.0, 1.0)
        };
        let d = q.decide(&halted).unwrap();
        assert_eq!(d.status, Status::Halted);
        assert!(
            d.bid_qty == Qty::ZERO && d.ask_qty == Qty::ZERO && d.fair.is_nan() && d.half.is_nan()
        );
        let d = q.decide(&Inputs::new(100.0, 100.1, 0.0, 1.0)).unwrap();
        assert_eq!(d.status, Status::WarmingUp);
        assert!(d.fair.is_nan() && d.bid_qty == Qty::ZERO);
        let mut fallback = quoter(|_| {});
        let d = fallback
            .decide(&Inputs::new(100.0, 100.1, 0.0, 1.0))
            .unwrap();
        assert_eq!(d.status, Status::Quoting);
    }

    #[test]
    fn wait_policy_quotes_once_calibrated_and_the_model_follows_the_fit() {
        let mut q = quoter(|c| {
            c.warmup = Warmup::Wait;
            c.calibration = CalibrationConfig {
                interval_s: 0.1,
                window_s: 60.0,
                refresh_s: 1.0,
                min_intervals: 50,
                min_trade_intervals: 20,
                max_depth_ticks: 70,
            };
        });
        let prior_model = q.model();
        assert!(q.model_spread_ticks().is_nan()); // no fair value seen yet
        let mut mid = 100.0;
        let mut t = 0.0;
        let mut last = Status::WarmingUp;
        for i in 0..300u32 {
            mid += [TICK, 0.0, -TICK, 0.0, TICK][i as usize % 5];
            let through = [-3.0, -1.0, 1.0, 2.0, 5.0][i as usize % 5];
            q.on_trade((mid + TICK * through) / TICK);
            last = q
                .decide(&Inputs::new(mid - TICK, mid + TICK, 0.0, t))
                .unwrap()
                .status;
            t += 0.05;
        }
        assert_eq!(last, Status::Quoting);
        assert!(q.calibration().ready() && q.calibration().fits() > 0);
        let (p, calibrated) = q.params();
        assert!(calibrated);
        assert_eq!(q.model(), glft(0.05, p.sigma, p.a, p.k));
        assert_ne!(q.model(), prior_model);
    }

    #[test]
    fn fits_are_blended_with_the_priors_by_sample_count() {
        let mut q = quoter(|c| {
            c.calibration = CalibrationConfig {
                interval_s: 0.1,
                window_s: 60.0,
                refresh_s: 1.0,
                min_intervals: 50,
                min_trade_intervals: 20,
                max_depth_ticks: 70,
            };
        });
        let mut mid = 100.0;
        let mut t = 0.0;
        let mut i = 0usize;
        while q.calibration().fits() == 0 {
            mid += [TICK, 0.0, -TICK, 0.0, TICK][i % 5];
            q.on_trade((mid + TICK * [-3.0, -1.0, 1.0, 2.0, 5.0][i % 5]) / TICK);
            q.decide(&Inputs::new(mid - TICK, mid + TICK, 0.0, t))
                .unwrap();
            t += 0.05;
            i += 1;
        }
        let fit = q.calibration().fitted().unwrap(); // ticks
        let n = q.calibration().samples() as f64;
        let w = n / (n + 50.0);
        let s = 1e-4 * mid / TICK; // ticks per bps
        let prior = QuoteConfig::default().prior;
        let (p, _) = q.params();
        assert!(w > 0.4 && w < 0.6); // the first fit counts about as much as the prior
        assert!((p.sigma - ((1.0 - w) * prior.sigma + w * fit.sigma / s)).abs() < 1e-12);
        assert!((p.k - ((1.0 - w) * prior.k + w * fit.k * s)).abs() < 1e-12);
        assert!((p.a - ((1.0 - w) * prior.a + w * fit.a)).abs() < 1e-12);
    }

    #[test]
    fn the_same_config_quotes_the_same_prices_for_any_tick_size() {
        // gamma and priors in bps: a 1-USD and a 0.1-USD tick at 60,000 give the same spread
        let half_price = |tick: f64| {
            let mut q = quoter(|c| {
                c.tick_size = tick;
                c.fee_margin_bps = 0.0;
            });
            let d = q
                .decide(&Inputs::new(60_000.0 - tick, 60_000.0 + tick, 0.0, 1.0))
                .unwrap();
            (d.half * tick, d.skew * tick)
        };
        let (h1, s1) = half_price(1.0);
        let (h2, s2) = half_price(0.1);
        assert!((h1 - h2).abs() < 1e-9 * h1 && (s1 - s2).abs() < 1e-9 * s1);
        let (half_bps, _) = glft(0.05, 1.0, 1.0, 0.5);
        assert!((h1 - half_bps * 6.0).abs() < 1e-9); // 1 bps of 60,000 is 6 USD
    }

    #[test]
    fn imbalance_alpha_moves_fair_and_microprice_falls_back_to_mid() {
        let mut q = quoter(|c| c.imbalance_alpha_ticks = 2.0);
        let x = book(100.0, 100.1, 3.0, 1.0, 0.0);
        let d = q.decide(&x).unwrap();
        assert_eq!(d.fair, x.microprice * (1.0 / TICK) + 2.0 * x.imbalance);
        let no_micro = Inputs {
            microprice: f64::NAN,
            imbalance: f64::NAN,
            ..x
        };
        assert_eq!(q.decide(&no_micro).unwrap().fair, x.mid * (1.0 / TICK));
    }

    #[test]
    fn bad_inputs_are_errors_not_panics() {
        let mut q = quoter(|_| {});
        let nan_pos = Inputs::new(100.0, 100.1, f64::NAN, 1.0);
        assert_eq!(q.decide(&nan_pos).unwrap_err().arg, "position");
        let inf_pos = Inputs::new(100.0, 100.1, f64::INFINITY, 1.0);
        assert_eq!(q.decide(&inf_pos).unwrap_err().arg, "position");
        let nan_size = Inputs {
            size_mult: f64::NAN,
            ..Inputs::new(100.0, 100.1, 0.0, 1.0)
        };
        assert_eq!(q.decide(&nan_size).unwrap_err().arg, "size_mult");
        let huge = Inputs::new(1e300, f64::INFINITY, 0.0, 1.0);
        assert!(q.decide(&huge).is_err());
        let fine = Inputs::new(100.0, 100.1, 0.0, 1.0);
        type Edit = fn(&mut Inputs);
        let fails_closed: [(Edit, &str); 9] = [
            (|x| x.best_bid = -1.0, "best_bid"),
            (|x| x.best_ask = f64::NEG_INFINITY, "best_ask"),
            (|x| x.mid = f64::INFINITY, "mid"),
            (|x| x.microprice = -0.5, "microprice"),
            (|x| x.imbalance = f64::INFINITY, "imbalance"),
            (|x| x.now = f64::NAN, "now"),
            (|x| x.spread_mult = -1.0, "spread_mult"),
            (|x| x.size_mult = f64::INFINITY, "size_mult"),
            (|x| x.limit_mult = f64::NAN, "limit_mult"),
        ];
        let refused = q.refused;
        for (edit, arg) in fails_closed {
            let mut x = fine;
            edit(&mut x);
            let samples = q.calibration().samples();
            assert_eq!(q.decide(&x).unwrap_err().arg, arg);
            assert_eq!(q.calibration().samples(), samples); // nothing fed to the calibration
        }
        assert_eq!(q.refused, refused + 9);
        // a halted decision never prices, so it never fails
        let halted = Inputs {
            halt: true,
            ..nan_pos
        };
        assert_eq!(q.decide(&halted).unwrap().status, Status::Halted);
    }

    #[test]
    fn bad_config_names_the_field() {
        let bad = |edit: fn(&mut QuoteConfig)| {
            let mut cfg = QuoteConfig::default();
            edit(&mut cfg);
            Quoter::new(cfg).unwrap_err().arg
        };
        assert_eq!(bad(|c| c.tick_size = 0.0), "tick_size");
        assert_eq!(bad(|c| c.lot_size = f64::NAN), "lot_size");
        assert_eq!(bad(|c| c.gamma = -1.0), "gamma");
        assert_eq!(bad(|c| c.skew_adj = -1.0), "skew_adj");
        assert_eq!(
            bad(|c| c.imbalance_alpha_ticks = f64::INFINITY),
            "imbalance_alpha_ticks"
        );
        assert_eq!(bad(|c| c.maker_fee_bps = 101.0), "maker_fee_bps");
        assert_eq!(bad(|c| c.prior.k = 0.0), "prior_k");
        assert_eq!(bad(|c| c.calibration.interval_s = 0.0), "interval_s");
    }
}
