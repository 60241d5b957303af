//! Trade flow: aggressor volumes and VPIN over equal-volume buckets (Easley, López de Prado,
//! O'Hara): VPIN = mean over the last n full buckets of |buy − sell| / bucket volume.

use std::collections::VecDeque;

/// Aggressor volume totals and the VPIN bucket state of one symbol.
#[derive(Clone, Debug)]
pub struct Flow {
    pub buy_volume: f64,
    pub sell_volume: f64,
    pub trade_count: u64,
    pub last_price: f64,
    bucket_volume: Option<f64>,
    /// Without a bucket volume: the first this many trades fill the first bucket and set the
    /// volume of every later one (0: VPIN stays NaN).
    calibration_trades: u64,
    max_buckets: usize,
    bucket_buy: f64,
    bucket_sell: f64,
    /// |buy − sell| / V of each full bucket, newest last.
    buckets: VecDeque<f64>,
    bucket_sum: f64,
}

impl Flow {
    /// `bucket_volume` of `None` derives it from the first `calibration_trades` trades (their
    /// total volume), or leaves VPIN undefined (NaN) when that is 0 too.
    pub fn new(bucket_volume: Option<f64>, calibration_trades: u64, max_buckets: usize) -> Self {
        Flow {
            buy_volume: 0.0,
            sell_volume: 0.0,
            trade_count: 0,
            last_price: f64::NAN,
            bucket_volume: bucket_volume.filter(|v| *v > 0.0),
            calibration_trades,
            max_buckets: max_buckets.max(1),
            bucket_buy: 0.0,
            bucket_sell: 0.0,
            buckets: VecDeque::new(),
            bucket_sum: 0.0,
        }
    }

    /// Adds one trade; a trade larger than the room left in a bucket spills into the next ones.
    pub fn add(&mut self, price: f64, qty: f64, buyer_aggressor: bool) {
        self.trade_count += 1;
        self.last_price = price;
        if buyer_aggressor {
            self.buy_volume += qty;
        } else {
            self.sell_volume += qty;
        }
        let Some(size) = self.bucket_volume else {
            self.calibrate(qty, buyer_aggressor);
            return;
        };
        let room = size - self.bucket_buy - self.bucket_sell;
        let first = qty.min(room);
        self.fill(first, buyer_aggressor, size);
        let mut left = qty - first;
        if left >= size {
            // Whole one-sided buckets; only the newest `max_buckets` of them can matter.
            let whole = (left / size).floor();
            for _ in 0..(whole as usize).min(self.max_buckets) {
                self.push_bucket(1.0);
            }
            left -= whole * size;
        }
        self.fill(left, buyer_aggressor, size);
    }

    /// Collects the first trades into one bucket whose volume becomes the bucket volume.
    fn calibrate(&mut self, qty: f64, buyer_aggressor: bool) {
        if self.calibration_trades == 0 {
            return;
        }
        if buyer_aggressor {
            self.bucket_buy += qty;
        } else {
            self.bucket_sell += qty;
        }
        let volume = self.bucket_buy + self.bucket_sell;
        if self.trade_count >= self.calibration_trades && volume > 0.0 {
            self.bucket_volume = Some(volume);
            self.push_bucket((self.bucket_buy - self.bucket_sell).abs() / volume);
            self.bucket_buy = 0.0;
            self.bucket_sell = 0.0;
        }
    }

    /// The volume per bucket, given or derived (`None` until calibrated or when off).
    pub fn bucket_volume(&self) -> Option<f64> {
        self.bucket_volume
    }

    fn fill(&mut self, qty: f64, buyer_aggressor: bool, size: f64) {
        if buyer_aggressor {
            self.bucket_buy += qty;
        } else {
            self.bucket_sell += qty;
        }
        if self.bucket_buy + self.bucket_sell >= size * (1.0 - 1e-12) {
            self.push_bucket((self.bucket_buy - self.bucket_sell).abs() / size);
            self.bucket_buy = 0.0;
            self.bucket_sell = 0.0;
        }
    }

    fn push_bucket(&mut self, imbalance: f64) {
        self.buckets.push_back(imbalance);
        self.bucket_sum += imbalance;
        if self.buckets.len() > self.max_buckets {
            self.bucket_sum -= self.buckets.pop_front().unwrap_or_default();
        }
    }

    /// VPIN over the full buckets so far (NaN before the first one or when not configured).
    pub fn vpin(&self) -> f64 {
        if self.buckets.is_empty() {
            f64::NAN
        } else {
            (self.bucket_sum / self.buckets.len() as f64).clamp(0.0, 1.0)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn totals_by_aggressor() {
        let mut flow = Flow::new(None, 0, 10);
        flow.add(100.0, 2.0, true);
        flow.add(101.0, 0.5, false);
        assert_eq!(
            (flow.buy_volume, flow.sell_volume, flow.trade_count),
            (2.0, 0.5, 2)
        );
        assert_eq!(flow.last_price, 101.0);
        assert!(flow.vpin().is_nan());
    }

    #[test]
    fn vpin_over_equal_volume_buckets_with_spill() {
        let mut flow = Flow::new(Some(10.0), 0, 2);
        flow.add(1.0, 10.0, true); // bucket 1: all buy → 1.0
        assert_eq!(flow.vpin(), 1.0);
        flow.add(1.0, 5.0, true);
        flow.add(1.0, 15.0, false); // bucket 2: 5/5 → 0.0; bucket 3: all sell → 1.0
        assert_eq!(flow.vpin(), 0.5, "mean of the last two buckets (0.0, 1.0)");
        // A huge trade against a tiny bucket stays O(max_buckets).
        let mut tiny = Flow::new(Some(1e-9), 0, 3);
        tiny.add(1.0, 1e9, false);
        assert_eq!(tiny.vpin(), 1.0);
    }

    #[test]
    fn bucket_volume_derived_from_the_first_trades() {
        let mut flow = Flow::new(None, 3, 10);
        flow.add(1.0, 2.0, true);
        flow.add(1.0, 1.0, false);
        assert!(flow.vpin().is_nan() && flow.bucket_volume().is_none());
        flow.add(1.0, 1.0, true); // 3 buy, 1 sell: bucket of 4, imbalance 0.5
        assert_eq!(flow.bucket_volume(), Some(4.0));
        assert_eq!(flow.vpin(), 0.5);
        flow.add(1.0, 4.0, false); // one all-sell bucket of the derived volume
        assert_eq!(flow.vpin(), 0.75);
    }
}
