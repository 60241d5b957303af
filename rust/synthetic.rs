//! A deterministic synthetic Binance spot diff-depth stream for benchmarks and tests: the one
//! stream behind the criterion benches, the Python benchmarks and the peer comparison.
//!
//! Behind the `synthetic` cargo feature: the criterion benches and Rust tests get it through
//! the crate's dev-dependency on itself, and the `python` feature enables it because
//! `mmcore.testing.synthetic` (Python benches and tests) calls it. A plain library build
//! (`cargo build`) leaves it out.
//!
//! It imitates a liquid spot book (BTCUSDT-like, tick 0.01): most level changes land near the
//! touch (geometric in distance), levels are deleted and later re-inserted, a few changes hit
//! deep levels, and the mid wanders as touch levels empty out and new ones appear inside the
//! spread. It is never crossed, and the level count per side is pulled back towards `levels`.

use std::collections::BTreeMap;
use std::fmt::Write;

const SYMBOL: &str = "BTCUSDT";
const FIRST_EVENT_TIME_MS: u64 = 1_700_000_000_000;
const EVENT_INTERVAL_MS: u64 = 100;
/// `lastUpdateId` of the snapshot; the first event has `U` one above it.
pub const SNAPSHOT_LAST_UPDATE_ID: u64 = 40_000_000_000;
const START_BEST_BID_TICKS: i64 = 6_500_000; // 65000.00 at a 0.01 tick
const LOTS_PER_UNIT: u64 = 100_000; // sizes in 0.00001 steps, printed with 8 decimals
const MAX_LOTS: f64 = 2_000_000.0; // 20 units
const SIZE_PALETTE: usize = 8192;
const ZERO_SIZE: usize = usize::MAX;
const DENSE_LEVELS: usize = 100; // snapshot levels one tick apart before the gaps start
const NEAR_TOUCH_P: f64 = 0.25; // mean distance from the touch: 3 ticks
const DEEP_SHARE: f64 = 0.03;
const INSIDE_SHARE_PER_TICK: f64 = 0.05;
const DELETE_BASE: f64 = 0.25;
const COUNT_PULL_POWER: i32 = 16;

/// xorshift64*, with floats in [0, 1) from the top 53 bits.
struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Self {
        Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }

    fn random(&mut self) -> f64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        (self.0.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 11) as f64 / (1u64 << 53) as f64
    }

    fn below(&mut self, n: f64) -> i64 {
        (self.random() * n) as i64
    }
}

/// One side; keys are `sign * ticks` so the best level has the smallest key on both sides.
struct Side {
    sign: i64,
    levels: BTreeMap<i64, usize>,
    best: i64,
}

struct Generator {
    rng: Rng,
    target: usize,
    sizes: Vec<String>,
    deep_span: i64,
    log_keep: f64,
}

impl Generator {
    fn size(&mut self) -> usize {
        self.rng.below(SIZE_PALETTE as f64) as usize
    }

    fn count_pull(&self, side: &Side) -> f64 {
        (side.levels.len() as f64 / self.target as f64).powi(COUNT_PULL_POWER)
    }

    /// A key on `side`: inside the spread, deep, or (mostly) near the touch.
    fn pick_key(&mut self, side: &Side, other_best: i64, insert_p: f64) -> i64 {
        let r = self.rng.random();
        let empty_ticks = side.best + other_best - 1;
        let inside = empty_ticks as f64 * INSIDE_SHARE_PER_TICK;
        if r < inside {
            return side.best - 1 - self.rng.below(empty_ticks as f64);
        }
        let mut key = if r < inside + DEEP_SHARE {
            side.best + self.rng.below(self.deep_span as f64)
        } else {
            side.best + ((1.0 - self.rng.random()).ln() / self.log_keep) as i64
        };
        if !side.levels.contains_key(&key) && self.rng.random() >= insert_p {
            // Too many levels: change an existing one; the walk ends at the best level.
            key = *side
                .levels
                .range(..=key)
                .next_back()
                .map_or(&side.best, |(k, _)| k);
        }
        key
    }

    /// Inserts, updates or deletes the level at `key`; returns the new size (or ZERO_SIZE).
    fn change(&mut self, side: &mut Side, key: i64, delete_p: f64) -> usize {
        if side.levels.contains_key(&key) && side.levels.len() > 1 && self.rng.random() < delete_p {
            side.levels.remove(&key);
            if key == side.best {
                side.best = *side.levels.keys().next().expect("one level left");
            }
            return ZERO_SIZE;
        }
        let size = self.size();
        side.levels.insert(key, size);
        side.best = side.best.min(key);
        size
    }

    fn write_levels<'a>(
        &self,
        out: &mut String,
        sign: i64,
        levels: impl Iterator<Item = (&'a i64, &'a usize)>,
    ) {
        for (i, (key, size)) in levels.enumerate() {
            if i > 0 {
                out.push(',');
            }
            let ticks = sign * key;
            let size = if *size == ZERO_SIZE {
                "0.00000000"
            } else {
                &self.sizes[*size]
            };
            let _ = write!(
                out,
                "[\"{}.{:02}000000\",\"{size}\"]",
                ticks / 100,
                ticks % 100
            );
        }
    }
}

/// `(snapshot, events)`: a REST `/api/v3/depth` body with `levels` levels per side, then
/// `depthUpdate` payloads with contiguous ids (`U == previous u + 1`, the first at
/// `lastUpdateId + 1`), 1 to `2 * changes - 1` level changes each (`changes` on average), each
/// price at most once per side, 8-decimal strings. Depends only on the arguments.
pub fn binance_stream(
    events: usize,
    levels: usize,
    changes: usize,
    seed: u64,
) -> (String, Vec<String>) {
    let mut rng = Rng::new(seed);
    let sizes = (0..SIZE_PALETTE)
        .map(|_| {
            // Skewed towards small sizes, as real books are.
            let lots = 1 + (rng.random().powi(4) * MAX_LOTS) as u64;
            format!("{}.{:05}000", lots / LOTS_PER_UNIT, lots % LOTS_PER_UNIT)
        })
        .collect();
    let mut gen = Generator {
        rng,
        target: levels.max(1),
        sizes,
        deep_span: 0,
        log_keep: (1.0 - NEAR_TOUCH_P).ln(),
    };
    let mut bids = Side {
        sign: -1,
        levels: BTreeMap::new(),
        best: -START_BEST_BID_TICKS,
    };
    let mut asks = Side {
        sign: 1,
        levels: BTreeMap::new(),
        best: START_BEST_BID_TICKS + 1,
    };
    let mut offset = 0;
    for i in 0..levels {
        for side in [&mut bids, &mut asks] {
            let size = gen.size();
            side.levels.insert(side.best + offset, size);
        }
        offset += if i < DENSE_LEVELS {
            1
        } else {
            1 + gen.rng.below(4.0)
        };
    }
    gen.deep_span = offset.max(1);

    let mut snapshot = format!("{{\"lastUpdateId\":{SNAPSHOT_LAST_UPDATE_ID},\"bids\":[");
    gen.write_levels(&mut snapshot, bids.sign, bids.levels.iter());
    snapshot.push_str("],\"asks\":[");
    gen.write_levels(&mut snapshot, asks.sign, asks.levels.iter());
    snapshot.push_str("]}");

    let max_changes = (2 * changes.max(1) - 1) as f64;
    let mut out = Vec::with_capacity(events);
    let mut next_id = SNAPSHOT_LAST_UPDATE_ID + 1;
    let mut event = String::new();
    for i in 0..events {
        let n_changes = 1 + gen.rng.below(max_changes) as usize;
        let pulls = [gen.count_pull(&bids), gen.count_pull(&asks)];
        let mut changed: [BTreeMap<i64, usize>; 2] = [BTreeMap::new(), BTreeMap::new()];
        let mut done = 0;
        while done < n_changes {
            let b = usize::from(gen.rng.random() >= 0.5);
            let (side, other_best) = if b == 0 {
                (&mut bids, asks.best)
            } else {
                (&mut asks, bids.best)
            };
            let key = gen.pick_key(side, other_best, 1.0 / pulls[b]);
            if let std::collections::btree_map::Entry::Vacant(slot) = changed[b].entry(key) {
                slot.insert(gen.change(side, key, DELETE_BASE * pulls[b]));
                done += 1;
            }
        }
        let first_id = next_id;
        // One event folds several venue-side updates, so u - U often exceeds the changes.
        let last_id = first_id + n_changes as u64 - 1 + gen.rng.below(4.0) as u64;
        next_id = last_id + 1;
        event.clear();
        let _ = write!(
            event,
            "{{\"e\":\"depthUpdate\",\"E\":{},\"s\":\"{SYMBOL}\",\"U\":{first_id},\"u\":{last_id},\"b\":[",
            FIRST_EVENT_TIME_MS + i as u64 * EVENT_INTERVAL_MS
        );
        gen.write_levels(&mut event, bids.sign, changed[0].iter());
        event.push_str("],\"a\":[");
        gen.write_levels(&mut event, asks.sign, changed[1].iter());
        event.push_str("]}");
        out.push(event.clone());
    }
    (snapshot, out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn is_deterministic_contiguous_and_never_crossed() {
        let (snapshot, events) = binance_stream(3000, 200, 6, 7);
        assert_eq!(
            binance_stream(3000, 200, 6, 7),
            (snapshot.clone(), events.clone())
        );
        let mut book = crate::symbol_book::SymbolBook::new(
            "BTCUSDT",
            crate::symbol_book::Venue::BinanceSpot,
            Default::default(),
        )
        .unwrap();
        book.apply_snapshot(snapshot.as_bytes()).unwrap();
        for event in &events {
            assert_eq!(
                book.apply(event.as_bytes()),
                Ok(crate::symbol_book::Status::Applied)
            );
            assert!(!book.book().is_crossed());
        }
    }
}
