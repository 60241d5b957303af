//! Closed-form half-spread and inventory skew, in ticks (formulas: docs/trading-anchors.md §7).
//!
//! Both return `(half_spread, skew)` so that, with inventory `q` in units of the base size,
//! `bid = fair - (half_spread + skew·q)` and `ask = fair + (half_spread - skew·q)`. The float
//! operations are those of the Python `mmcore.strategy.models` before the Rust port.

/// GLFT (Guéant 2017, eqs 4.6/4.7) with ξ = `gamma` and Δ = 1, as hftbacktest uses it.
///
/// `sigma` in ticks/√s, `a` in 1/s, `k` in 1/tick.
pub fn glft(gamma: f64, sigma: f64, a: f64, k: f64) -> (f64, f64) {
    let c1 = (gamma / k).ln_1p() / gamma;
    let c2 = (gamma / (2.0 * a * k) * (1.0 + gamma / k).powf(k / gamma + 1.0)).sqrt();
    (c1 + 0.5 * sigma * c2, sigma * c2)
}

/// Avellaneda–Stoikov (2008): spread `gamma·sigma²·tau + (2/gamma)·ln(1 + gamma/k)`.
///
/// The reservation price moves by `gamma·sigma²·tau` per unit of inventory (the skew).
/// `sigma` in ticks/√s, `k` in 1/tick, `horizon_s` is T - t (constant: rolling horizon).
pub fn avellaneda_stoikov(gamma: f64, sigma: f64, k: f64, horizon_s: f64) -> (f64, f64) {
    let risk = gamma * sigma * sigma * horizon_s;
    (0.5 * (risk + (2.0 / gamma) * (gamma / k).ln_1p()), risk)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn approx(a: f64, b: f64) -> bool {
        (a - b).abs() <= 1e-12 * b.abs()
    }

    #[test]
    fn models_match_the_published_formulas() {
        let (hs, skew) = glft(0.05, 2.0, 1.5, 0.5);
        let c2 = (0.05 / (2.0 * 1.5 * 0.5) * (1.0f64 + 0.05 / 0.5).powf(0.5 / 0.05 + 1.0)).sqrt();
        assert!(approx(
            hs,
            (1.0f64 + 0.05 / 0.5).ln() / 0.05 + 0.5 * 2.0 * c2
        ));
        assert!(approx(skew, 2.0 * c2));
        let (hs, skew) = avellaneda_stoikov(0.1, 2.0, 0.5, 3.0);
        assert!(approx(skew, 0.1 * 4.0 * 3.0));
        assert!(approx(
            2.0 * hs,
            0.1 * 4.0 * 3.0 + 2.0 / 0.1 * (1.0f64 + 0.1 / 0.5).ln()
        ));
    }

    #[test]
    fn more_risk_aversion_or_volatility_widens_and_skews_more() {
        let (h1, s1) = glft(0.05, 1.0, 1.0, 0.5);
        let (h2, s2) = glft(0.05, 2.0, 1.0, 0.5);
        assert!(h2 > h1 && s2 > s1);
        let (h1, s1) = avellaneda_stoikov(0.05, 1.0, 0.5, 1.0);
        let (h2, s2) = avellaneda_stoikov(0.5, 1.0, 0.5, 1.0);
        assert!(s2 > s1 && h1 > 0.0 && h2 > 0.0);
    }
}
