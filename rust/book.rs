//! The L2 ladder: integer prices and sizes, best level last so touch updates move little memory.

use crate::fixed::{scaled_to_f64, POW10};

/// One price level, 16 bytes. `key` orders the side (bids: `price`, asks: `-price`) so both
/// sides keep ascending keys with the best level at the end of the vector, where most updates
/// happen. The size shares a word with the decimals the venue wrote the price and size with
/// (kept for the OKX checksum text), so a ladder of 1000 levels fits in 16 KB.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Level {
    pub key: i64,
    packed: u64,
}

const QTY_BITS: u32 = 54;
const QTY_MASK: u64 = (1 << QTY_BITS) - 1;

impl Level {
    /// Largest size a level holds, in units of the book's size scale (about 1.8e16).
    pub const MAX_QTY: u64 = QTY_MASK;

    /// A level; `qty` must not exceed [`Level::MAX_QTY`] and the decimals must be below 32.
    #[inline]
    pub fn new(key: i64, qty: u64, px_decimals: u8, qty_decimals: u8) -> Level {
        debug_assert!(qty <= QTY_MASK && px_decimals < 32 && qty_decimals < 32);
        let packed = qty | u64::from(px_decimals) << QTY_BITS | u64::from(qty_decimals) << 59;
        Level { key, packed }
    }

    /// Size at the book's size scale; zero deletes the level.
    #[inline]
    pub fn qty(&self) -> u64 {
        self.packed & QTY_MASK
    }

    /// Decimals the venue wrote the price with.
    #[inline]
    pub fn px_decimals(&self) -> u8 {
        ((self.packed >> QTY_BITS) & 31) as u8
    }

    /// Decimals the venue wrote the size with.
    #[inline]
    pub fn qty_decimals(&self) -> u8 {
        (self.packed >> 59) as u8
    }
}

/// Bid or ask.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Side {
    Bid,
    Ask,
}

impl Side {
    /// Sort key of a price on this side.
    #[inline]
    pub fn key(self, price: i64) -> i64 {
        match self {
            Side::Bid => price,
            Side::Ask => -price,
        }
    }

    /// Price of a sort key on this side.
    #[inline]
    pub fn price(self, key: i64) -> i64 {
        self.key(key)
    }
}

/// Levels next to the touch that [`Ladder::set`] searches without a binary search.
const NEAR_TOUCH: usize = 16;

/// One side of the book, levels sorted by ascending key (best last).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Ladder {
    levels: Vec<Level>,
}

impl Ladder {
    /// Sets a level to an absolute size; size zero deletes it (deleting an absent level is a no-op,
    /// as the venues specify).
    #[inline]
    pub fn set(&mut self, level: Level) {
        let levels = &mut self.levels;
        let position = Self::find(levels, level.key);
        match position {
            Ok(i) if level.qty() == 0 => {
                levels.remove(i);
            }
            Ok(i) => levels[i] = level,
            Err(_) if level.qty() == 0 => {}
            Err(i) => levels.insert(i, level),
        }
    }

    /// Where `key` is (`Ok`) or would go (`Err`). Most updates land within a few levels of the
    /// touch, at the end of the vector: scan those linearly, binary-search the rest. (Counting
    /// the levels above `key` among the last [`NEAR_TOUCH`] without a branch per level measured
    /// no faster: the scan usually stops within three levels.)
    #[inline]
    fn find(levels: &[Level], key: i64) -> Result<usize, usize> {
        let n = levels.len();
        let near = n.saturating_sub(NEAR_TOUCH);
        for i in (near..n).rev() {
            let probe = levels[i].key;
            if probe == key {
                return Ok(i);
            }
            if probe < key {
                return Err(i + 1);
            }
        }
        levels[..near].binary_search_by(|probe| probe.key.cmp(&key))
    }

    /// Replaces the side with levels given best-first or in any order; zero sizes are skipped.
    pub fn replace(&mut self, levels: impl Iterator<Item = Level>) {
        self.levels.clear();
        self.levels.extend(levels.filter(|l| l.qty() != 0));
        // Room to grow by a quarter without reallocating, instead of doubling.
        self.levels
            .shrink_to(self.levels.len() + self.levels.len() / 4 + 16);
        self.levels.sort_unstable_by_key(|l| l.key);
        self.levels.dedup_by_key(|l| l.key);
    }

    pub fn clear(&mut self) {
        self.levels.clear();
    }

    #[inline]
    pub fn best(&self) -> Option<&Level> {
        self.levels.last()
    }

    /// Levels from the best outwards.
    #[inline]
    pub fn iter_best_first(&self) -> impl Iterator<Item = &Level> + '_ {
        self.levels.iter().rev()
    }

    #[inline]
    pub fn len(&self) -> usize {
        self.levels.len()
    }

    #[inline]
    pub fn is_empty(&self) -> bool {
        self.levels.is_empty()
    }

    /// Heap bytes held by this side.
    pub fn heap_bytes(&self) -> usize {
        self.levels.capacity() * std::mem::size_of::<Level>()
    }

    /// Multiplies keys by `price_factor` and sizes by `qty_factor` (a scale change); the caller
    /// has checked with [`Ladder::fits_rescale`] that nothing overflows.
    fn rescale(&mut self, price_factor: i64, qty_factor: u64) {
        for level in &mut self.levels {
            level.key *= price_factor;
            *level = Level::new(
                level.key,
                level.qty() * qty_factor,
                level.px_decimals(),
                level.qty_decimals(),
            );
        }
    }

    fn fits_rescale(&self, price_factor: i64, qty_factor: u64) -> bool {
        let (Some(first), Some(last)) = (self.levels.first(), self.levels.last()) else {
            return true;
        };
        let max_key = first.key.unsigned_abs().max(last.key.unsigned_abs());
        let max_qty = self.levels.iter().map(Level::qty).max().unwrap_or(0);
        max_key
            .checked_mul(price_factor as u64)
            .is_some_and(|k| k <= i64::MAX as u64)
            && max_qty
                .checked_mul(qty_factor)
                .is_some_and(|q| q <= Level::MAX_QTY)
    }
}

/// A two-sided L2 book on integers: prices at `price_scale` decimals, sizes at `qty_scale`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Book {
    pub bids: Ladder,
    pub asks: Ladder,
    pub price_scale: u8,
    pub qty_scale: u8,
}

impl Book {
    /// The best `n` levels of one side as `(price, size)` floats, best first: the one
    /// conversion behind `OrderBook.bids()`/`asks()` and the paper venue's book view, so both
    /// see identical values.
    pub fn float_levels(&self, side: Side, n: usize) -> impl Iterator<Item = (f64, f64)> + '_ {
        let price_unit = POW10[usize::from(self.price_scale)] as f64;
        let qty_scale = self.qty_scale;
        self.side(side).iter_best_first().take(n).map(move |level| {
            (
                side.price(level.key) as f64 / price_unit,
                scaled_to_f64(level.qty(), qty_scale),
            )
        })
    }

    /// The best `n` levels of one side as `(price, size)` integers at the book's scales
    /// (`price_scale`, `qty_scale` decimals), best first: what the paper venue reads, exactly.
    pub fn scaled_levels(&self, side: Side, n: usize) -> impl Iterator<Item = (i64, u64)> + '_ {
        self.side(side)
            .iter_best_first()
            .take(n)
            .map(move |level| (side.price(level.key), level.qty()))
    }

    #[inline]
    pub fn side(&self, side: Side) -> &Ladder {
        match side {
            Side::Bid => &self.bids,
            Side::Ask => &self.asks,
        }
    }

    #[inline]
    pub fn side_mut(&mut self, side: Side) -> &mut Ladder {
        match side {
            Side::Bid => &mut self.bids,
            Side::Ask => &mut self.asks,
        }
    }

    pub fn clear(&mut self) {
        self.bids.clear();
        self.asks.clear();
    }

    /// Best bid as `(price, size)` integers.
    #[inline]
    pub fn best_bid(&self) -> Option<(i64, u64)> {
        self.bids.best().map(|l| (l.key, l.qty()))
    }

    /// Best ask as `(price, size)` integers.
    #[inline]
    pub fn best_ask(&self) -> Option<(i64, u64)> {
        self.asks.best().map(|l| (-l.key, l.qty()))
    }

    /// True when the best bid is at or above the best ask.
    #[inline]
    pub fn is_crossed(&self) -> bool {
        matches!((self.best_bid(), self.best_ask()), (Some((b, _)), Some((a, _))) if b >= a)
    }

    /// Raises the scales (never lowers them) so values with more decimals fit. Returns false and
    /// leaves the book untouched when the existing levels would overflow at the new scales.
    pub fn raise_scales(&mut self, price_scale: u8, qty_scale: u8) -> bool {
        let price_scale = price_scale.max(self.price_scale);
        let qty_scale = qty_scale.max(self.qty_scale);
        let price_factor = POW10[usize::from(price_scale - self.price_scale)] as i64;
        let qty_factor = POW10[usize::from(qty_scale - self.qty_scale)];
        if price_factor == 1 && qty_factor == 1 {
            return true;
        }
        if !(self.bids.fits_rescale(price_factor, qty_factor)
            && self.asks.fits_rescale(price_factor, qty_factor))
        {
            return false;
        }
        self.bids.rescale(price_factor, qty_factor);
        self.asks.rescale(price_factor, qty_factor);
        self.price_scale = price_scale;
        self.qty_scale = qty_scale;
        true
    }

    /// Heap bytes held by the ladders.
    pub fn heap_bytes(&self) -> usize {
        self.bids.heap_bytes() + self.asks.heap_bytes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lvl(side: Side, price: i64, qty: u64) -> Level {
        Level::new(side.key(price), qty, 0, 0)
    }

    #[test]
    fn keeps_best_last_and_deletes_on_zero() {
        let mut book = Book::default();
        for (p, q) in [(100, 1), (102, 2), (101, 3)] {
            book.bids.set(lvl(Side::Bid, p, q));
        }
        for (p, q) in [(105, 1), (103, 2), (104, 3)] {
            book.asks.set(lvl(Side::Ask, p, q));
        }
        assert_eq!(book.best_bid(), Some((102, 2)));
        assert_eq!(book.best_ask(), Some((103, 2)));
        book.bids.set(lvl(Side::Bid, 102, 0));
        book.asks.set(lvl(Side::Ask, 103, 0));
        book.asks.set(lvl(Side::Ask, 999, 0));
        assert_eq!(book.best_bid(), Some((101, 3)));
        assert_eq!(book.best_ask(), Some((104, 3)));
        assert_eq!(book.asks.len(), 2);
        let bids: Vec<i64> = book.bids.iter_best_first().map(|l| l.key).collect();
        assert_eq!(bids, vec![101, 100]);
        assert!(!book.is_crossed());
        book.bids.set(lvl(Side::Bid, 104, 1));
        assert!(book.is_crossed());
    }

    proptest::proptest! {
        /// Sets on one side against a map, with prices from a narrow range so updates hit the
        /// touch, the levels counted near it and the binary-searched rest, on ladders shorter
        /// and longer than [`NEAR_TOUCH`].
        #[test]
        fn set_matches_a_sorted_map(
            bids in proptest::bool::ANY,
            ops in proptest::collection::vec((0i64..48, proptest::prop_oneof![1 => proptest::strategy::Just(0u64), 3 => 1u64..9]), 0..300),
        ) {
            let side = if bids { Side::Bid } else { Side::Ask };
            let mut ladder = Ladder::default();
            let mut reference = std::collections::BTreeMap::new();
            for (price, qty) in ops {
                ladder.set(lvl(side, price, qty));
                if qty == 0 {
                    reference.remove(&side.key(price));
                } else {
                    reference.insert(side.key(price), qty);
                }
                let got: Vec<(i64, u64)> = ladder.iter_best_first().map(|l| (l.key, l.qty())).collect();
                let expected: Vec<(i64, u64)> = reference.iter().rev().map(|(k, q)| (*k, *q)).collect();
                proptest::prop_assert_eq!(got, expected);
            }
        }
    }

    #[test]
    fn raising_scales_keeps_values_or_refuses_untouched() {
        let mut book = Book::default();
        book.bids.set(lvl(Side::Bid, 5, 7));
        assert!(book.raise_scales(2, 1));
        assert_eq!(book.best_bid(), Some((500, 70)));
        book.asks.set(lvl(Side::Ask, i64::MAX / 10, 1));
        let before = book.clone();
        assert!(!book.raise_scales(4, 1));
        assert_eq!(book, before);
    }
}
