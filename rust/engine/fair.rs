//! The quote step's inputs around the quote model: the order-flow signal, the fair value it
//! and the advice's lean move, and the ladder of quotes from the best price.

use crate::model::Price;
use crate::orders::desk::Target;
use crate::orders::Qty;

/// Order-flow imbalance in [-1, 1]: the book's OFI increments over their absolute size, both
/// decayed with a half-life in seconds.
#[derive(Clone, Debug)]
pub struct FlowSignal {
    halflife_s: f64,
    last_total: Option<f64>,
    t: Option<f64>,
    num: f64,
    den: f64,
}

impl FlowSignal {
    /// A signal at 0 with no OFI seen.
    pub fn new(halflife_s: f64) -> Self {
        FlowSignal {
            halflife_s,
            last_total: None,
            t: None,
            num: 0.0,
            den: 0.0,
        }
    }

    /// Takes the book's running OFI at `now` (NaN: no book yet, nothing changes); returns the
    /// signal.
    pub fn update(&mut self, ofi_total: f64, now: f64) -> f64 {
        if !ofi_total.is_nan() {
            let step = self.last_total.map_or(0.0, |last| ofi_total - last);
            self.last_total = Some(ofi_total);
            if let Some(t) = self.t {
                if now > t {
                    let decay = 0.5f64.powf((now - t) / self.halflife_s);
                    self.num *= decay;
                    self.den *= decay;
                }
            }
            self.t = Some(now);
            self.num += step;
            self.den += step.abs();
        }
        if self.den > 0.0 {
            self.num / self.den
        } else {
            0.0
        }
    }
}

/// The fair value the quote model prices from, in place of the microprice: the microprice
/// moved towards the mid by `weight` (1: the microprice itself), then by `shift_bps`. None
/// when nothing moves it (the book's microprice stands).
pub fn fair_price(mid: f64, microprice: f64, weight: f64, shift_bps: f64) -> Option<f64> {
    if shift_bps == 0.0 && weight == 1.0 {
        return None;
    }
    let fair = if microprice.is_nan() {
        mid
    } else {
        mid + weight * (microprice - mid)
    };
    Some(fair * (1.0 + shift_bps * 1e-4))
}

/// Appends `levels` quotes of `qty` from `best`, `spacing` ticks apart away from fair
/// (`direction` -1 bids, +1 asks); no price at or below zero (deep bids of a low-priced asset
/// stop at one tick).
pub fn ladder(
    best: i64,
    qty: Qty,
    direction: i64,
    levels: usize,
    spacing: i64,
    out: &mut Vec<Target>,
) {
    out.clear();
    let step = direction * spacing;
    let mut price = best;
    for _ in 0..levels {
        if price > 0 {
            out.push((Price(price), qty));
        }
        price += step;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_flow_signal_is_decayed_ofi_over_its_size() {
        let mut s = FlowSignal::new(1.0);
        assert_eq!(s.update(f64::NAN, 0.0), 0.0);
        assert_eq!(s.update(10.0, 0.0), 0.0); // the first total is the baseline
        assert_eq!(s.update(14.0, 0.0), 1.0);
        assert_eq!(s.update(12.0, 0.0), 2.0 / 6.0);
        // one half-life later the old flow weighs half: (1 - 2) / (3 + 2)
        assert!((s.update(10.0, 1.0) - (-1.0 / 5.0)).abs() < 1e-15);
    }

    #[test]
    fn fair_value_and_ladders() {
        assert_eq!(fair_price(100.0, 101.0, 1.0, 0.0), None);
        assert_eq!(fair_price(100.0, 101.0, 0.5, 0.0), Some(100.5));
        assert_eq!(fair_price(100.0, f64::NAN, 0.5, 100.0), Some(101.0));
        let mut out = Vec::new();
        ladder(2, Qty(5), -1, 3, 1, &mut out);
        assert_eq!(out, [(Price(2), Qty(5)), (Price(1), Qty(5))]);
        ladder(2, Qty(5), 1, 2, 3, &mut out);
        assert_eq!(out, [(Price(2), Qty(5)), (Price(5), Qty(5))]);
    }
}
