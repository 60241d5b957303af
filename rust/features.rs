//! Book and flow features as one fixed-width `f64` record (NaN where undefined), so a single
//! row serves the Python record and the replay matrix alike.

use crate::book::{Book, Ladder, Side};
use crate::fixed::scaled_to_f64;
use crate::flow::Flow;

/// Column names of a features record, in order.
pub const FEATURE_NAMES: [&str; 23] = [
    "best_bid",
    "best_ask",
    "bid_size",
    "ask_size",
    "mid",
    "spread",
    "spread_bps",
    "microprice",
    "imbalance",
    "bid_depth",
    "ask_depth",
    "bid_band_depth",
    "ask_band_depth",
    "ofi",
    "ofi_total",
    "volatility_bps",
    "buy_volume",
    "sell_volume",
    "vpin",
    "trade_count",
    "crossed",
    "synced",
    "event_time_ms",
];

/// Number of columns in a features record.
pub const N_FEATURES: usize = FEATURE_NAMES.len();

/// One features record.
pub type FeatureRow = [f64; N_FEATURES];

/// Features that need history: order-flow imbalance between updates and the EWMA volatility
/// of mid log-returns.
#[derive(Clone, Debug)]
pub struct Tracker {
    prev_bid: Option<(i64, u64)>,
    prev_ask: Option<(i64, u64)>,
    ofi_last: f64,
    ofi_total: f64,
    prev_mid: f64,
    variance: f64,
    alpha: f64,
}

impl Tracker {
    /// `halflife` is in book updates.
    pub fn new(halflife: f64) -> Self {
        Tracker {
            prev_bid: None,
            prev_ask: None,
            ofi_last: 0.0,
            ofi_total: 0.0,
            prev_mid: f64::NAN,
            variance: f64::NAN,
            alpha: 1.0 - 0.5f64.powf(1.0 / halflife.max(1e-9)),
        }
    }

    /// Forgets the previous touch (after a resync the next update is not a continuation).
    pub fn reset_touch(&mut self) {
        self.prev_bid = None;
        self.prev_ask = None;
        self.prev_mid = f64::NAN;
    }

    /// Follows the book to finer scales (prices × `price_factor`, sizes × `qty_factor`), so the
    /// next update compares like with like: a scale change is not a price move. Saturates
    /// rather than wraps (the book has already checked its own levels fit).
    pub fn rescale(&mut self, price_factor: i64, qty_factor: u64) {
        let scale = |touch: Option<(i64, u64)>| {
            touch.map(|(p, q)| (p.saturating_mul(price_factor), q.saturating_mul(qty_factor)))
        };
        self.prev_bid = scale(self.prev_bid);
        self.prev_ask = scale(self.prev_ask);
        self.prev_mid *= price_factor as f64;
    }

    /// Updates OFI (Cont, Kukanov & Stoikov 2014) and volatility after a book change.
    #[inline]
    pub fn on_update(&mut self, book: &Book) {
        let (bid, ask) = (book.best_bid(), book.best_ask());
        let qty = |q: u64| scaled_to_f64(q, book.qty_scale);
        let mut ofi = 0.0;
        if let (Some((pb, qb)), Some((pb0, qb0))) = (bid, self.prev_bid) {
            if pb >= pb0 {
                ofi += qty(qb);
            }
            if pb <= pb0 {
                ofi -= qty(qb0);
            }
        }
        if let (Some((pa, qa)), Some((pa0, qa0))) = (ask, self.prev_ask) {
            if pa <= pa0 {
                ofi -= qty(qa);
            }
            if pa >= pa0 {
                ofi += qty(qa0);
            }
        }
        self.ofi_last = ofi;
        self.ofi_total += ofi;
        self.prev_bid = bid;
        self.prev_ask = ask;
        if let (Some((b, _)), Some((a, _))) = (bid, ask) {
            let mid = (b as f64 + a as f64) * 0.5;
            if self.prev_mid > 0.0 && mid > 0.0 {
                // Most updates leave the mid where it was: ln(1) is exactly 0, without the call.
                let r = if mid == self.prev_mid {
                    0.0
                } else {
                    (mid / self.prev_mid).ln()
                };
                self.variance = if self.variance.is_nan() {
                    r * r
                } else {
                    (1.0 - self.alpha) * self.variance + self.alpha * r * r
                };
            }
            self.prev_mid = mid;
        }
    }
}

/// A size sum as a float. Sums fit a `u64` in practice, and converting one is a few
/// instructions where a `u128` takes a software routine; both round to nearest, so the value is
/// the same.
#[inline]
fn sum_to_f64(sum: u128) -> f64 {
    match u64::try_from(sum) {
        Ok(small) => small as f64,
        Err(_) => wide_to_f64(sum),
    }
}

/// Out of line and cold, so the compiler does not run the routine ahead of the range check.
#[cold]
#[inline(never)]
fn wide_to_f64(sum: u128) -> f64 {
    sum as f64
}

/// Sizes summed in `u128`: a thousand levels of the largest size overflow a `u64`.
fn side_depth(ladder: &Ladder, depth: usize) -> u128 {
    ladder
        .iter_best_first()
        .take(depth)
        .map(|l| u128::from(l.qty()))
        .sum()
}

/// Size on `side` priced within `limit` (a price at book scale) of the touch side of the band.
fn band_depth(ladder: &Ladder, side: Side, limit: f64) -> u128 {
    ladder
        .iter_best_first()
        .take_while(|l| match side {
            Side::Bid => side.price(l.key) as f64 >= limit,
            Side::Ask => side.price(l.key) as f64 <= limit,
        })
        .map(|l| u128::from(l.qty()))
        .sum()
}

/// Everything the record needs besides the book.
pub struct Context<'a> {
    pub tracker: &'a Tracker,
    pub flow: &'a Flow,
    pub synced: bool,
    pub event_time_ms: Option<i64>,
}

/// Computes the record over the top `depth` levels, with depth bands of ±`band_bps` around mid
/// (band columns NaN when `None`: a wide band walks many levels).
pub fn compute(book: &Book, ctx: &Context, depth: usize, band_bps: Option<f64>) -> FeatureRow {
    let nan = f64::NAN;
    let px = |p: i64| p as f64 / crate::fixed::POW10[usize::from(book.price_scale)] as f64;
    let qty = |q: u64| scaled_to_f64(q, book.qty_scale);
    let total = |q: u128| sum_to_f64(q) / crate::fixed::POW10[usize::from(book.qty_scale)] as f64;
    let mut row = [nan; N_FEATURES];
    let bid = book.best_bid();
    let ask = book.best_ask();
    if let Some((p, q)) = bid {
        row[0] = px(p);
        row[2] = qty(q);
    }
    if let Some((p, q)) = ask {
        row[1] = px(p);
        row[3] = qty(q);
    }
    let bid_depth = side_depth(&book.bids, depth);
    let ask_depth = side_depth(&book.asks, depth);
    row[9] = total(bid_depth);
    row[10] = total(ask_depth);
    if bid_depth + ask_depth > 0 {
        let (bid_depth, ask_depth) = (sum_to_f64(bid_depth), sum_to_f64(ask_depth));
        row[8] = (bid_depth - ask_depth) / (bid_depth + ask_depth);
    }
    if let (Some((bp, bq)), Some((ap, aq))) = (bid, ask) {
        // In floats: two prices near i64::MAX (scale 18) overflow an integer sum.
        let mid_scaled = (bp as f64 + ap as f64) * 0.5;
        let mid = px(bp) * 0.5 + px(ap) * 0.5;
        row[4] = mid;
        row[5] = px(ap - bp);
        row[6] = (ap - bp) as f64 / mid_scaled * 1e4;
        let (bq, aq) = (bq as f64, aq as f64);
        row[7] = (px(bp) * aq + px(ap) * bq) / (aq + bq);
        if let Some(band_bps) = band_bps {
            let band = band_bps * 1e-4;
            row[11] = total(band_depth(&book.bids, Side::Bid, mid_scaled * (1.0 - band)));
            row[12] = total(band_depth(&book.asks, Side::Ask, mid_scaled * (1.0 + band)));
        }
    }
    let t = ctx.tracker;
    row[13] = t.ofi_last;
    row[14] = t.ofi_total;
    row[15] = t.variance.sqrt() * 1e4;
    row[16] = ctx.flow.buy_volume;
    row[17] = ctx.flow.sell_volume;
    row[18] = ctx.flow.vpin();
    row[19] = ctx.flow.trade_count as f64;
    row[20] = f64::from(u8::from(book.is_crossed()));
    row[21] = f64::from(u8::from(ctx.synced));
    row[22] = ctx.event_time_ms.map_or(nan, |t| t as f64);
    row
}

#[cfg(test)]
mod tests {
    use crate::features::{sum_to_f64, FEATURE_NAMES};
    use crate::symbol_book::{Config, SymbolBook, Venue};

    fn column(row: &[f64], name: &str) -> f64 {
        row[FEATURE_NAMES.iter().position(|n| *n == name).unwrap()]
    }

    /// The `u64` shortcut converts exactly as the `u128` route does, on both sides of the edge.
    #[test]
    fn size_sums_convert_like_u128() {
        let edge = u128::from(u64::MAX);
        for sum in [
            0,
            1,
            (1 << 53) + 1,
            (1 << 63) + 1025,
            edge - 1,
            edge,
            edge + 1,
            u128::MAX,
        ] {
            assert_eq!(sum_to_f64(sum), sum as f64, "{sum}");
        }
    }

    /// Scale 18 prices near `i64::MAX` and 1,100 levels of the largest size: integer sums would
    /// wrap (or panic in debug); the record stays finite and right.
    #[test]
    fn high_scales_and_huge_sizes_do_not_overflow() {
        let size = "18000000000000000"; // 1.8e16 lots, just under Level::MAX_QTY
        let level = |price: String| format!("[\"{price}\",\"{size}\"]");
        let bids: Vec<String> = (0..1100)
            .map(|i| level(format!("9.{:018}", 100_000_000_000_000_000u64 - i)))
            .collect();
        let asks: Vec<String> = (1..1101)
            .map(|i| level(format!("9.{:018}", 100_000_000_000_000_000u64 + i)))
            .collect();
        let body = format!(
            "{{\"lastUpdateId\":1,\"bids\":[{}],\"asks\":[{}]}}",
            bids.join(","),
            asks.join(",")
        );
        let mut book = SymbolBook::new("X", Venue::BinanceSpot, Config::default()).unwrap();
        book.apply_snapshot(body.as_bytes()).unwrap();
        assert_eq!(book.book().price_scale, 18);
        let row = book.features(1100, Some(1.0));
        let depth = column(&row, "bid_depth");
        assert!((depth / (1100.0 * 1.8e16) - 1.0).abs() < 1e-12, "{depth}");
        assert_eq!(column(&row, "imbalance"), 0.0);
        let mid = column(&row, "mid");
        assert!((mid - 9.1).abs() < 1e-9, "{mid}");
        assert!(column(&row, "spread_bps") > 0.0);
        assert!(column(&row, "bid_band_depth") > 1e19);
        // A diff at the same scales: OFI and volatility stay finite.
        let diff = format!(
            "{{\"e\":\"depthUpdate\",\"E\":1,\"s\":\"X\",\"U\":2,\"u\":2,\"b\":[[\"9.{:018}\",\"1\"]],\"a\":[]}}",
            100_000_000_000_000_000u64
        );
        book.apply(diff.as_bytes()).unwrap();
        let row = book.features(5, None);
        assert!(column(&row, "ofi").is_finite());
        assert!(column(&row, "volatility_bps").is_finite());
    }
}
