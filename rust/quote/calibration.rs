//! Online calibration of volatility σ and trade intensity λ(δ) = A·e^(-kδ), all in ticks (the
//! quote model converts the fits to bps of price and blends them with its priors).
//!
//! Every `interval_s` of (feed or simulated) time one sample is closed: the mid change in ticks
//! and the deepest distance (in ticks from the interval's opening mid) at which a market trade
//! printed. σ is the standard deviation of the mid changes scaled to ticks per √second. λ(δ) is
//! the number of intervals whose trade depth exceeded δ, per second; `ln λ = ln A - k·δ` is fit by
//! least squares (hftbacktest's GLFT notebook). Fits refresh every `refresh_s` on a rolling
//! window; until enough data exists the estimator reports itself as warming up.
//!
//! A port of the Python `mmcore.strategy.calibration` (before the Rust port), with the same float
//! operations in the same order. Its refit summed with numpy, whose `sum`/`mean`/`var` use
//! pairwise summation: [`pairwise_sum`] reproduces it, so the fitted σ, A and k are
//! bit-identical to numpy's on the same samples.
//!
//! Bounded state: two rolling windows of `window_s / interval_s` samples.

use std::collections::VecDeque;

use crate::arg_error::{positive, ArgError};

/// Largest window (`window_s / interval_s` samples) accepted.
pub const MAX_WINDOW: usize = 10_000_000;
/// Largest `max_depth_ticks` accepted (a refit walks up to this many depths).
pub const MAX_DEPTH_TICKS: usize = 1_000_000;

/// Sampling, window and warm-up settings (the Python `CalibrationConfig`).
#[derive(Clone, Debug, PartialEq)]
pub struct CalibrationConfig {
    /// Length of one sample in seconds.
    pub interval_s: f64,
    /// The rolling window the fit uses, in seconds.
    pub window_s: f64,
    /// Seconds between refits.
    pub refresh_s: f64,
    /// Samples needed before the first fit.
    pub min_intervals: usize,
    /// Samples with at least one trade needed before the first fit.
    pub min_trade_intervals: usize,
    /// Deepest δ (ticks, exclusive) the intensity fit looks at.
    pub max_depth_ticks: usize,
}

impl Default for CalibrationConfig {
    /// The Python `CalibrationConfig` defaults.
    fn default() -> Self {
        CalibrationConfig {
            interval_s: 0.1,
            window_s: 600.0,
            refresh_s: 5.0,
            min_intervals: 300,
            min_trade_intervals: 20,
            max_depth_ticks: 70,
        }
    }
}

impl CalibrationConfig {
    /// Checks every value: times finite and > 0, counts >= 2, the window at most
    /// [`MAX_WINDOW`] samples and `max_depth_ticks` at most [`MAX_DEPTH_TICKS`].
    pub fn validate(&self) -> Result<(), ArgError> {
        positive(&[
            ("interval_s", self.interval_s),
            ("window_s", self.window_s),
            ("refresh_s", self.refresh_s),
        ])?;
        for (arg, value) in [
            ("min_intervals", self.min_intervals),
            ("min_trade_intervals", self.min_trade_intervals),
            ("max_depth_ticks", self.max_depth_ticks),
        ] {
            if value < 2 {
                return Err(ArgError::new(arg, format!("must be >= 2, got {value}")));
            }
        }
        if self.max_depth_ticks > MAX_DEPTH_TICKS {
            return Err(ArgError::new(
                "max_depth_ticks",
                format!("must be <= {MAX_DEPTH_TICKS}, got {}", self.max_depth_ticks),
            ));
        }
        let ratio = self.window_s / self.interval_s;
        let samples = ratio.round_ties_even();
        if samples.is_nan() || samples > MAX_WINDOW as f64 {
            return Err(ArgError::new(
                "window_s",
                format!(
                    "window_s / interval_s must be <= {MAX_WINDOW} samples, got {ratio} \
                     (window_s={}, interval_s={})",
                    self.window_s, self.interval_s
                ),
            ));
        }
        Ok(())
    }

    /// Samples per window: `max(2, round(window_s / interval_s))`, ties to even as Python's
    /// `round`. Call on a validated config.
    pub fn window_len(&self) -> usize {
        let samples = (self.window_s / self.interval_s).round_ties_even();
        if samples > 2.0 {
            samples as usize
        } else {
            2
        }
    }
}

/// σ per √s, A (1/s) and k per unit of distance: in ticks for the calibration's fits, in bps
/// of price for the quote model's priors and blended parameters.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ModelParams {
    pub sigma: f64,
    pub a: f64,
    pub k: f64,
}

/// Rolling σ, A, k estimator: feed it mids ([`on_mid`](Self::on_mid)) and trades
/// ([`on_trade`](Self::on_trade)), read [`fitted`](Self::fitted) (the quote model blends it
/// with its priors).
#[derive(Clone, Debug)]
pub struct Calibration {
    cfg: CalibrationConfig,
    window: usize,
    /// Mid change (ticks) per closed interval, oldest first.
    dmid: VecDeque<f64>,
    /// Deepest trade distance (ticks) per closed interval; NaN when no trade printed.
    depth: VecDeque<f64>,
    /// Entries of `depth` that are not NaN.
    trade_intervals: usize,
    interval_start: Option<f64>,
    open_mid: f64,
    last_mid: f64,
    deepest: f64,
    next_fit: f64,
    fitted: Option<ModelParams>,
    fits: u64,
    scratch: Vec<f64>,
}

impl Calibration {
    /// An estimator with no samples (no fit until enough of them).
    pub fn new(cfg: CalibrationConfig) -> Result<Self, ArgError> {
        cfg.validate()?;
        let window = cfg.window_len();
        let reserve = window.min(1 << 16);
        Ok(Calibration {
            cfg,
            window,
            dmid: VecDeque::with_capacity(reserve),
            depth: VecDeque::with_capacity(reserve),
            trade_intervals: 0,
            interval_start: None,
            open_mid: f64::NAN,
            last_mid: f64::NAN,
            deepest: f64::NAN,
            next_fit: f64::NEG_INFINITY,
            fitted: None,
            fits: 0,
            scratch: Vec::new(),
        })
    }

    pub fn config(&self) -> &CalibrationConfig {
        &self.cfg
    }

    /// True once a fit from enough samples exists (the warm-up is over).
    pub fn ready(&self) -> bool {
        self.fitted.is_some()
    }

    /// Successful fits so far: [`params`](Self::params) changes only when this does.
    pub fn fits(&self) -> u64 {
        self.fits
    }

    /// Samples in the window (closed intervals, at most `window_s / interval_s`).
    pub fn samples(&self) -> usize {
        self.dmid.len()
    }

    /// Warm-up progress in [0, 1] (the lower of the two sample requirements).
    pub fn progress(&self) -> f64 {
        let mut progress = 1.0;
        let intervals = self.dmid.len() as f64 / self.cfg.min_intervals as f64;
        if intervals < progress {
            progress = intervals;
        }
        let trades = self.trade_intervals as f64 / self.cfg.min_trade_intervals as f64;
        if trades < progress {
            progress = trades;
        }
        progress
    }

    /// The latest fit (None while warming up).
    pub fn fitted(&self) -> Option<ModelParams> {
        self.fitted
    }

    /// Records the mid (in ticks) at time `now` (seconds): closes the intervals that have ended
    /// (quiet ones count as no move and no trade) and refits when `refresh_s` has passed.
    pub fn on_mid(&mut self, mid_ticks: f64, now: f64) {
        match self.interval_start {
            None => {
                self.interval_start = Some(now);
                self.open_mid = mid_ticks;
            }
            Some(start) => {
                if now - start >= self.cfg.interval_s {
                    self.close_intervals(start, now);
                    if now >= self.next_fit {
                        self.refit(now);
                    }
                }
            }
        }
        self.last_mid = mid_ticks;
    }

    /// Records a market trade's price (ticks); its distance from the interval's opening mid
    /// counts. Ignored before the first mid.
    pub fn on_trade(&mut self, price_ticks: f64) {
        if self.open_mid.is_nan() {
            return;
        }
        let depth = (price_ticks - self.open_mid).abs();
        // Python's `not depth <= deepest`: also true while `deepest` is NaN
        if depth.is_nan() || self.deepest.is_nan() || depth > self.deepest {
            self.deepest = depth;
        }
    }

    fn push(&mut self, dmid: f64, depth: f64) {
        if self.dmid.len() == self.window {
            self.dmid.pop_front();
            if let Some(old) = self.depth.pop_front() {
                if !old.is_nan() {
                    self.trade_intervals -= 1;
                }
            }
        }
        self.dmid.push_back(dmid);
        self.depth.push_back(depth);
        if !depth.is_nan() {
            self.trade_intervals += 1;
        }
    }

    fn close_intervals(&mut self, start: f64, now: f64) {
        // >= 1: now - start >= interval_s, and the quotient is correctly rounded
        let elapsed = ((now - start) / self.cfg.interval_s).trunc();
        self.push(self.last_mid - self.open_mid, self.deepest);
        let quiet = elapsed - 1.0;
        let quiet = if quiet < self.window as f64 {
            quiet as usize
        } else {
            self.window
        };
        for _ in 0..quiet {
            self.push(0.0, f64::NAN);
        }
        self.interval_start = Some(start + elapsed * self.cfg.interval_s);
        self.open_mid = self.last_mid;
        self.deepest = f64::NAN;
    }

    fn refit(&mut self, now: f64) {
        self.next_fit = now + self.cfg.refresh_s;
        let n = self.dmid.len();
        if n < self.cfg.min_intervals || self.trade_intervals < self.cfg.min_trade_intervals {
            return;
        }
        // numpy's var(ddof=1): pairwise mean, then the pairwise sum of squared deviations
        let scratch = &mut self.scratch;
        scratch.clear();
        scratch.extend(self.dmid.iter().copied());
        let mean = pairwise_sum(scratch) / n as f64;
        for x in scratch.iter_mut() {
            let d = *x - mean;
            *x = d * d;
        }
        let var = pairwise_sum(scratch) / (n - 1) as f64;
        let sigma = (var / self.cfg.interval_s).sqrt();
        scratch.clear();
        scratch.extend(self.depth.iter().copied().filter(|d| !d.is_nan()));
        let seconds = n as f64 * self.cfg.interval_s;
        let fit = fit_intensity(scratch, seconds, self.cfg.max_depth_ticks);
        match fit {
            Some((a, k)) if sigma > 0.0 => {
                self.fitted = Some(ModelParams { sigma, a, k });
                self.fits += 1;
            }
            _ => {} // keep the previous fit (or none) rather than a degenerate one
        }
    }
}

/// Least-squares fit of `ln λ(δ) = ln A - k·δ` for δ = 0, 1, … ticks, below `max_depth` and
/// while some depth exceeds δ; λ(δ) is the number of `depths` greater than δ per `seconds`.
/// Returns `(A, k)`, or None with fewer than two such δ or a slope that is not negative.
/// NaN depths are not counted.
pub fn fit_intensity(depths: &[f64], seconds: f64, max_depth: usize) -> Option<(f64, f64)> {
    // hist[c]: depths exceeding exactly c of the δ in 0..max_depth (c = ceil(depth), capped)
    let mut hist = vec![0usize; max_depth + 1];
    let mut counted = 0usize;
    for &d in depths {
        if d > 0.0 {
            let c = if d >= max_depth as f64 {
                max_depth
            } else {
                d.ceil() as usize
            };
            hist[c] += 1;
            counted += 1;
        } else if !d.is_nan() {
            hist[0] += 1;
            counted += 1;
        }
    }
    // deeper(δ) = depths > δ, non-increasing in δ: the δ used are those before the first 0
    let mut ys = Vec::new();
    let mut deeper = counted - hist[0];
    for delta in 0..max_depth {
        if deeper == 0 {
            break;
        }
        ys.push((deeper as f64 / seconds).ln());
        deeper -= hist[delta + 1];
    }
    let used = ys.len();
    if used < 2 {
        return None;
    }
    let mut xs: Vec<f64> = (0..used).map(|d| d as f64).collect();
    let mx = pairwise_sum(&xs) / used as f64;
    let my = pairwise_sum(&ys) / used as f64;
    for (x, y) in xs.iter_mut().zip(ys.iter_mut()) {
        let dx = *x - mx;
        *y = dx * (*y - my);
        *x = dx * dx;
    }
    let slope = pairwise_sum(&ys) / pairwise_sum(&xs);
    let k = -slope;
    if k <= 0.0 {
        return None;
    }
    Some(((my - slope * mx).exp(), k))
}

/// The sum of `values` as numpy's float64 `add.reduce` computes it (pairwise summation: blocks
/// of up to 128 summed with 8 accumulators, larger arrays split in halves rounded to 8), so
/// results match numpy's `sum`, `mean` and `var` bit for bit.
pub fn pairwise_sum(values: &[f64]) -> f64 {
    let n = values.len();
    if n < 8 {
        let mut res = 0.0;
        for &x in values {
            res += x;
        }
        res
    } else if n <= 128 {
        let mut r = [0.0; 8];
        r.copy_from_slice(&values[..8]);
        let whole = n - n % 8;
        let mut i = 8;
        while i < whole {
            for (j, acc) in r.iter_mut().enumerate() {
                *acc += values[i + j];
            }
            i += 8;
        }
        let mut res = ((r[0] + r[1]) + (r[2] + r[3])) + ((r[4] + r[5]) + (r[6] + r[7]));
        for &x in &values[whole..] {
            res += x;
        }
        res
    } else {
        let mut half = n / 2;
        half -= half % 8;
        pairwise_sum(&values[..half]) + pairwise_sum(&values[half..])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn approx(a: f64, b: f64, rel: f64) -> bool {
        (a - b).abs() <= rel * b.abs()
    }

    /// The Python test's data: interval depths whose tail is exactly exponential.
    fn exponential_depths(a: f64, k: f64, seconds: f64) -> (Vec<f64>, Vec<f64>) {
        let counts: Vec<f64> = (0..12)
            .map(|d| (a * (-k * d as f64).exp() * seconds).round())
            .collect();
        let mut depths = Vec::new();
        for d in 0..12 {
            let beyond = if d + 1 < 12 { counts[d + 1] } else { 0.0 };
            let n = (counts[d] - beyond) as usize;
            depths.extend(std::iter::repeat_n(d as f64 + 0.5, n));
        }
        (counts, depths)
    }

    #[test]
    fn intensity_fit_recovers_a_and_k_and_matches_the_formula() {
        let (a, k, seconds) = (5.0, 0.4, 1000.0);
        let (counts, depths) = exponential_depths(a, k, seconds);
        let (fit_a, fit_k) = fit_intensity(&depths, seconds, 70).unwrap();
        assert!(
            approx(fit_k, k, 0.02) && approx(fit_a, a, 0.05),
            "{fit_a} {fit_k}"
        );

        let xs: Vec<f64> = (0..12).map(|d| d as f64).collect();
        let ys: Vec<f64> = counts.iter().map(|c| (c / seconds).ln()).collect();
        let mx = xs.iter().sum::<f64>() / 12.0;
        let my = ys.iter().sum::<f64>() / 12.0;
        let sxy: f64 = xs.iter().zip(&ys).map(|(x, y)| (x - mx) * (y - my)).sum();
        let sxx: f64 = xs.iter().map(|x| (x - mx) * (x - mx)).sum();
        let slope = sxy / sxx;
        assert!(approx(fit_k, -slope, 1e-12));
        assert!(approx(fit_a, (my - slope * mx).exp(), 1e-12));
    }

    #[test]
    fn intensity_fit_refuses_too_few_depths() {
        assert_eq!(fit_intensity(&[0.5, 0.2], 10.0, 70), None); // only δ = 0 has trades
        assert_eq!(fit_intensity(&[], 10.0, 70), None);
        assert_eq!(fit_intensity(&[f64::NAN, 3.0], 10.0, 70), None); // one depth: flat line
    }

    #[test]
    fn intensity_fit_counts_depths_above_each_delta_up_to_max_depth() {
        // depth 2.0 exceeds δ = 0, 1 (not 2); depth 2.5 also exceeds δ = 2; infinite: all δ
        let depths = [2.0, 2.5, f64::INFINITY, 0.0, f64::NAN];
        let (a, k) = fit_intensity(&depths, 1.0, 4).unwrap();
        // counts 3, 3, 2, 1 for δ = 0..4
        let ys: Vec<f64> = [3.0f64, 3.0, 2.0, 1.0].iter().map(|c| c.ln()).collect();
        let xs = [0.0, 1.0, 2.0, 3.0];
        let mx = 1.5;
        let my = pairwise_sum(&ys) / 4.0;
        let sxy: f64 = xs.iter().zip(&ys).map(|(x, y)| (x - mx) * (y - my)).sum();
        let slope = sxy / 5.0;
        assert!(approx(k, -slope, 1e-15) && approx(a, (my - slope * mx).exp(), 1e-15));
        // a flat intensity (every trade deeper than max_depth) has k = 0: refused
        assert_eq!(fit_intensity(&[5.0, 5.0], 1.0, 4), None);
    }

    #[test]
    fn pairwise_sum_matches_numpy_bit_for_bit() {
        // x[i] = ((i·7919 mod 1009) - 504) / 7 · S[i mod 7]: every length pairs the sums
        // differently from a left-to-right loop (which differs from numpy at n = 100, 129, ...)
        const S: [f64; 7] = [1e-3, 1e-2, 1e-1, 1.0, 1e1, 1e2, 1e3];
        let x: Vec<f64> = (0..1000usize)
            .map(|i| ((i * 7919 % 1009) as f64 - 504.0) / 7.0 * S[i % 7])
            .collect();
        for (n, bits) in PAIRWISE_EXPECTED {
            assert_eq!(pairwise_sum(&x[..n]).to_bits(), bits, "n = {n}");
        }
    }

    /// `np.sum(x[:n]).view(np.uint64)` for the `x` of the test above.
    const PAIRWISE_EXPECTED: [(usize, u64); 6] = [
        (5, 0xc061e0624dd2f1aa),
        (8, 0xc0eeb127807058f1),
        (100, 0x40faa5593f7ced92),
        (129, 0xc0fb4c2366b14c58),
        (300, 0x41009ca7b22d0e56),
        (1000, 0x40fab2fc7e640f38),
    ];

    fn calibration(window_s: f64) -> Calibration {
        let cfg = CalibrationConfig {
            interval_s: 1.0,
            window_s,
            refresh_s: 1.0,
            min_intervals: 4,
            min_trade_intervals: 2,
            max_depth_ticks: 70,
        };
        Calibration::new(cfg).unwrap()
    }

    #[test]
    fn intervals_close_with_quiet_ones_and_the_window_rolls() {
        let mut c = calibration(5.0);
        c.on_trade(10.0); // before any mid: ignored
        c.on_mid(100.0, 0.0);
        c.on_trade(103.0);
        c.on_trade(101.0); // shallower: the deepest stays 3
        c.on_mid(102.0, 0.5);
        assert_eq!(c.samples(), 0);
        c.on_mid(101.0, 1.2); // closes [0, 1): dmid 2, depth 3
        assert_eq!(c.samples(), 1);
        assert_eq!((c.dmid[0], c.depth[0]), (2.0, 3.0));
        assert_eq!(c.interval_start, Some(1.0));
        c.on_mid(104.0, 4.5); // closes [1, 2): 101 - 102, then quiet [2, 3) and [3, 4)
        assert_eq!(
            c.dmid.iter().copied().collect::<Vec<_>>(),
            [2.0, -1.0, 0.0, 0.0]
        );
        assert!(c.depth.iter().skip(1).all(|d| d.is_nan()));
        assert_eq!(c.trade_intervals, 1);
        assert_eq!(c.interval_start, Some(4.0));
        assert_eq!(c.progress(), 0.5); // trades: 1 of 2
        c.on_mid(104.0, 100.0); // a long gap: the window fills with quiet intervals
        assert_eq!(c.samples(), 5);
        assert_eq!(
            c.dmid.iter().copied().collect::<Vec<_>>(),
            [0.0, 0.0, 0.0, 0.0, 0.0]
        );
        assert_eq!(c.trade_intervals, 0);
        assert_eq!(c.progress(), 0.0);
        assert!(!c.ready());
        assert_eq!(c.fitted(), None);
    }

    #[test]
    fn warms_up_then_fits_and_counts_the_fits() {
        let mut c = calibration(50.0);
        let mut mid = 100.0;
        let mut t = 0.0;
        let mut step = 0u32;
        while !c.ready() {
            step += 1;
            mid += [1.0, -1.0, 0.0, 2.0][step as usize % 4];
            c.on_trade(mid + [3.0, -1.0, 2.0][step as usize % 3]);
            c.on_mid(mid, t);
            t += 0.5;
            assert!(step < 1000);
        }
        assert_eq!(c.fits(), 1);
        assert!(c.samples() >= 4 && c.progress() == 1.0);
        let p = c.fitted().unwrap();
        assert!(p.sigma > 0.0 && p.a > 0.0 && p.k > 0.0);
        // the next refit waits for refresh_s
        let fits = c.fits();
        c.on_mid(mid, t + 0.2);
        assert_eq!(c.fits(), fits);
    }

    #[test]
    fn bad_config_names_the_field() {
        let bad = |edit: fn(&mut CalibrationConfig)| {
            let mut cfg = CalibrationConfig::default();
            edit(&mut cfg);
            Calibration::new(cfg).unwrap_err().arg
        };
        assert_eq!(bad(|c| c.interval_s = 0.0), "interval_s");
        assert_eq!(bad(|c| c.window_s = f64::NAN), "window_s");
        assert_eq!(bad(|c| c.refresh_s = -1.0), "refresh_s");
        assert_eq!(bad(|c| c.min_intervals = 1), "min_intervals");
        assert_eq!(bad(|c| c.min_trade_intervals = 0), "min_trade_intervals");
        assert_eq!(bad(|c| c.max_depth_ticks = 1), "max_depth_ticks");
        assert_eq!(bad(|c| c.max_depth_ticks = usize::MAX), "max_depth_ticks");
        assert_eq!(bad(|c| c.window_s = 1e300), "window_s");
        let tiny = CalibrationConfig {
            window_s: 0.1,
            interval_s: 1.0,
            ..CalibrationConfig::default()
        };
        assert_eq!(tiny.window_len(), 2);
        assert_eq!(CalibrationConfig::default().window_len(), 6000);
    }
}
