//! `QuoteCore`: the quote model and its calibration (`crate::quote`), driven from Python, and
//! the closed-form models and the intensity fit as module functions.

use pyo3::exceptions::PyValueError;
use pyo3::intern;
use pyo3::prelude::*;

use super::features::Features;
use crate::quote::calibration::MAX_DEPTH_TICKS;
use crate::quote::{self, CalibrationConfig, Inputs, Model, ModelParams, QuoteConfig, Warmup};

/// `(status, bid, ask, bid_lots, ask_lots, fair, half, skew, fits)`: see `QuoteCore.decide`.
type DecisionTuple = (u8, i64, i64, i64, i64, f64, f64, f64, u64);

/// The quote model of one symbol and its online calibration (`Quoter` wraps it): features,
/// position and overlay multipliers in, best bid and ask (ticks) and their sizes out. Bad
/// configuration values raise `ValueError` naming the field.
#[pyclass(module = "mmcore._core")]
pub struct QuoteCore {
    pub(super) inner: quote::Quoter,
}

fn count(arg: &'static str, value: i64) -> PyResult<usize> {
    usize::try_from(value)
        .map_err(|_| PyValueError::new_err(format!("{arg}: must be >= 2, got {value}")))
}

fn positive(arg: &str, value: f64) -> PyResult<f64> {
    if value.is_finite() && value > 0.0 {
        Ok(value)
    } else {
        Err(PyValueError::new_err(format!(
            "{arg}: must be > 0, got {value}"
        )))
    }
}

fn finite(arg: &str, value: f64) -> PyResult<f64> {
    if value.is_finite() {
        Ok(value)
    } else {
        Err(PyValueError::new_err(format!(
            "{arg}: must be finite, got {value}"
        )))
    }
}

/// The book values a decision reads: from a `Features` record directly, else (any object with
/// the attributes, as tests use) by attribute; mid, microprice and imbalance only when both
/// sides exist.
fn book_inputs(features: &Bound<'_, PyAny>) -> PyResult<[f64; 5]> {
    if let Ok(f) = features.cast::<Features>() {
        let f = f.borrow();
        return Ok([f.best_bid, f.best_ask, f.mid, f.microprice, f.imbalance]);
    }
    let py = features.py();
    let best_bid: f64 = features.getattr(intern!(py, "best_bid"))?.extract()?;
    let best_ask: f64 = features.getattr(intern!(py, "best_ask"))?.extract()?;
    if best_bid.is_nan() || best_ask.is_nan() {
        return Ok([best_bid, best_ask, f64::NAN, f64::NAN, f64::NAN]);
    }
    Ok([
        best_bid,
        best_ask,
        features.getattr(intern!(py, "mid"))?.extract()?,
        features.getattr(intern!(py, "microprice"))?.extract()?,
        features.getattr(intern!(py, "imbalance"))?.extract()?,
    ])
}

#[pymethods]
impl QuoteCore {
    /// A quote model with no samples. Keyword arguments are the `QuoteConfig` and
    /// `CalibrationConfig` fields of the same names; `model` is `"glft"` or `"as"`, `warmup`
    /// `"fallback"` or `"wait"`.
    #[new]
    #[pyo3(signature = (tick_size, lot_size, base_size, max_position, *, model="glft",
                        gamma=0.05, as_horizon_s=1.0, spread_adj=1.0, skew_adj=1.0,
                        size_eta=1.0, imbalance_alpha_ticks=0.0, min_spread_bps=0.0,
                        maker_fee_bps=0.0, fee_margin_bps=0.5, warmup="fallback",
                        prior_sigma_bps=1.0, prior_a=1.0, prior_k=0.5, interval_s=0.1,
                        window_s=600.0, refresh_s=5.0, min_intervals=300,
                        min_trade_intervals=20, max_depth_ticks=70))]
    #[allow(clippy::too_many_arguments)]
    fn new(
        tick_size: f64,
        lot_size: f64,
        base_size: f64,
        max_position: f64,
        model: &str,
        gamma: f64,
        as_horizon_s: f64,
        spread_adj: f64,
        skew_adj: f64,
        size_eta: f64,
        imbalance_alpha_ticks: f64,
        min_spread_bps: f64,
        maker_fee_bps: f64,
        fee_margin_bps: f64,
        warmup: &str,
        prior_sigma_bps: f64,
        prior_a: f64,
        prior_k: f64,
        interval_s: f64,
        window_s: f64,
        refresh_s: f64,
        min_intervals: i64,
        min_trade_intervals: i64,
        max_depth_ticks: i64,
    ) -> PyResult<Self> {
        let model = match model {
            "glft" => Model::Glft,
            "as" => Model::AvellanedaStoikov,
            other => {
                return Err(PyValueError::new_err(format!(
                    "model: expected 'glft' or 'as', got {other:?}"
                )))
            }
        };
        let warmup = match warmup {
            "fallback" => Warmup::Fallback,
            "wait" => Warmup::Wait,
            other => {
                return Err(PyValueError::new_err(format!(
                    "warmup: expected 'fallback' or 'wait', got {other:?}"
                )))
            }
        };
        let calibration = CalibrationConfig {
            interval_s,
            window_s,
            refresh_s,
            min_intervals: count("min_intervals", min_intervals)?,
            min_trade_intervals: count("min_trade_intervals", min_trade_intervals)?,
            max_depth_ticks: count("max_depth_ticks", max_depth_ticks)?,
        };
        let cfg = QuoteConfig {
            tick_size,
            lot_size,
            base_size,
            max_position,
            model,
            gamma,
            as_horizon_s,
            spread_adj,
            skew_adj,
            size_eta,
            imbalance_alpha_ticks,
            min_spread_bps,
            maker_fee_bps,
            fee_margin_bps,
            warmup,
            prior: ModelParams {
                sigma: prior_sigma_bps,
                a: prior_a,
                k: prior_k,
            },
            calibration,
        };
        Ok(QuoteCore {
            inner: quote::Quoter::new(cfg)?,
        })
    }

    /// One decision: reads `best_bid`, `best_ask`, `mid`, `microprice` and `imbalance` of
    /// `features` (a `Features` record directly, other objects by attribute), feeds the
    /// calibration the mid, and returns `(status, bid, ask, bid_lots, ask_lots, fair, half, skew,
    /// fits)`: status 0 quoting, 1 no_book, 2 halted, 3 warming_up; prices in ticks, sizes in
    /// whole lots (rounded down: never more than the model asked for); a size of 0
    /// means no order on that side; `fits` counts the calibration's fits (params change only
    /// with it). Inputs the model cannot price (a NaN position, an infinite price) raise
    /// `ValueError`.
    #[pyo3(signature = (features, position, now, spread_mult=1.0, size_mult=1.0,
                        limit_mult=1.0, halt=false))]
    #[allow(clippy::too_many_arguments)]
    fn decide(
        &mut self,
        features: &Bound<'_, PyAny>,
        position: f64,
        now: f64,
        spread_mult: f64,
        size_mult: f64,
        limit_mult: f64,
        halt: bool,
    ) -> PyResult<DecisionTuple> {
        let [best_bid, best_ask, mid, microprice, imbalance] = book_inputs(features)?;
        let d = self.inner.decide(&Inputs {
            best_bid,
            best_ask,
            mid,
            microprice,
            imbalance,
            position,
            now,
            spread_mult,
            size_mult,
            limit_mult,
            halt,
        })?;
        Ok((
            d.status as u8,
            d.bid.ticks(),
            d.ask.ticks(),
            d.bid_qty.lots(),
            d.ask_qty.lots(),
            d.fair,
            d.half,
            d.skew,
            self.inner.calibration().fits(),
        ))
    }

    /// A market trade's price in ticks (intensity calibration input).
    fn on_trade(&mut self, price_ticks: f64) {
        self.inner.on_trade(price_ticks);
    }

    /// A mid in ticks at `now` (seconds); `decide` does this for every book it prices.
    fn on_mid(&mut self, mid_ticks: f64, now: f64) {
        self.inner.on_mid(mid_ticks, now);
    }

    /// The model's own total spread in ticks (`2 · half-spread · spread_adj`, no overlay).
    fn model_spread_ticks(&mut self) -> f64 {
        self.inner.model_spread_ticks()
    }

    /// True once the calibration has fitted (the warm-up is over).
    #[getter]
    fn ready(&self) -> bool {
        self.inner.calibration().ready()
    }

    /// Warm-up progress in [0, 1].
    #[getter]
    fn progress(&self) -> f64 {
        self.inner.calibration().progress()
    }

    /// `(sigma, a, k, calibrated)` the model uses, in bps of price (sigma bps/√s, k 1/bps):
    /// the priors blended with the latest fit, or the priors alone (`calibrated` False).
    #[getter]
    fn params(&mut self) -> (f64, f64, f64, bool) {
        let (p, calibrated) = self.inner.params();
        (p.sigma, p.a, p.k, calibrated)
    }

    /// Decisions refused for bad inputs (NaN position, ±inf or negative prices or multipliers).
    #[getter]
    fn refused(&self) -> u64 {
        self.inner.refused
    }

    /// Successful calibration fits so far.
    #[getter]
    fn fits(&self) -> u64 {
        self.inner.calibration().fits()
    }

    /// Closed calibration intervals in the rolling window.
    #[getter]
    fn samples(&self) -> usize {
        self.inner.calibration().samples()
    }

    fn __repr__(&mut self) -> String {
        let (p, _) = self.inner.params();
        let c = self.inner.calibration();
        format!(
            "QuoteCore({:?}, sigma={}, a={}, k={}, fits={}, progress={})",
            self.inner.config().model,
            p.sigma,
            p.a,
            p.k,
            c.fits(),
            c.progress()
        )
    }
}

/// GLFT half-spread and skew in ticks: `(half_spread, skew)`; `sigma` in ticks/√s, `a` in 1/s,
/// `k` in 1/tick. `gamma`, `a` and `k` must be > 0.
#[pyfunction]
pub fn glft(gamma: f64, sigma: f64, a: f64, k: f64) -> PyResult<(f64, f64)> {
    Ok(quote::glft(
        positive("gamma", gamma)?,
        finite("sigma", sigma)?,
        positive("a", a)?,
        positive("k", k)?,
    ))
}

/// Avellaneda–Stoikov half-spread and skew in ticks: `(half_spread, skew)`; `gamma`, `k` and
/// `horizon_s` must be > 0.
#[pyfunction]
pub fn avellaneda_stoikov(gamma: f64, sigma: f64, k: f64, horizon_s: f64) -> PyResult<(f64, f64)> {
    Ok(quote::avellaneda_stoikov(
        positive("gamma", gamma)?,
        finite("sigma", sigma)?,
        positive("k", k)?,
        positive("horizon_s", horizon_s)?,
    ))
}

/// The calibration's least-squares intensity fit: `(A, k)` of `ln λ(δ) = ln A - k·δ` over
/// δ = 0, 1, … below `max_depth`, λ(δ) = depths greater than δ per `seconds`; None when fewer
/// than two δ have trades or the slope is not negative. NaN depths are not counted.
#[pyfunction]
pub fn fit_intensity(
    depths: Vec<f64>,
    seconds: f64,
    max_depth: i64,
) -> PyResult<Option<(f64, f64)>> {
    let seconds = positive("seconds", seconds)?;
    let max_depth = usize::try_from(max_depth)
        .ok()
        .filter(|&d| d <= MAX_DEPTH_TICKS)
        .ok_or_else(|| {
            PyValueError::new_err(format!(
                "max_depth: must be in [0, {MAX_DEPTH_TICKS}], got {max_depth}"
            ))
        })?;
    Ok(quote::fit_intensity(&depths, seconds, max_depth))
}
