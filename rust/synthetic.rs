//! A deterministic synthetic Binance spot diff-depth stream, for benchmarks: a REST snapshot
//! and `depthUpdate` payloads with contiguous ids, most changes near the touch.

/// xorshift64*: tiny, seedable, reproducible everywhere.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }

    /// Distance from the touch, geometric-ish: most changes within a few ticks.
    fn depth(&mut self, levels: u64) -> u64 {
        let r = self.next() as f64 / u64::MAX as f64;
        ((-(1.0 - r).ln() * 8.0) as u64).min(levels - 1)
    }
}

fn level(out: &mut String, ticks: u64, qty: u64) {
    use std::fmt::Write;
    let _ = write!(
        out,
        "[\"{}.{:02}000000\",\"{}.{:08}\"]",
        ticks / 100,
        ticks % 100,
        qty / 100_000_000,
        qty % 100_000_000
    );
}

/// `(snapshot, events)`: `levels` per side around 65000.00 (tick 0.01), each event changing
/// about `changes` levels, ids contiguous from the snapshot's `lastUpdateId + 1`.
pub fn binance_stream(
    events: usize,
    levels: u64,
    changes: usize,
    seed: u64,
) -> (String, Vec<String>) {
    let mut rng = Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1);
    let best_bid: u64 = 6_500_000;
    let best_ask = best_bid + 1;
    let mut snapshot = String::from("{\"lastUpdateId\":1000,\"bids\":[");
    for i in 0..levels {
        if i > 0 {
            snapshot.push(',');
        }
        level(&mut snapshot, best_bid - i, 1 + rng.below(500_000_000));
    }
    snapshot.push_str("],\"asks\":[");
    for i in 0..levels {
        if i > 0 {
            snapshot.push(',');
        }
        level(&mut snapshot, best_ask + i, 1 + rng.below(500_000_000));
    }
    snapshot.push_str("]}");
    let mut out = Vec::with_capacity(events);
    let mut id = 1001u64;
    for e in 0..events {
        let n = 1 + rng.below(2 * changes as u64 - 1) as usize;
        let mut bids = String::new();
        let mut asks = String::new();
        for _ in 0..n {
            let bid_side = rng.below(2) == 0;
            let (target, price) = if bid_side {
                (&mut bids, best_bid - rng.depth(levels))
            } else {
                (&mut asks, best_ask + rng.depth(levels))
            };
            if target.contains(&format!("\"{}.{:02}000000\"", price / 100, price % 100)) {
                continue;
            }
            if !target.is_empty() {
                target.push(',');
            }
            // One change in five deletes the level; the next touch of it re-inserts.
            let qty = if rng.below(5) == 0 {
                0
            } else {
                1 + rng.below(500_000_000)
            };
            level(target, price, qty);
        }
        out.push(format!(
            "{{\"e\":\"depthUpdate\",\"E\":{},\"s\":\"BTCUSDT\",\"U\":{id},\"u\":{id},\"b\":[{bids}],\"a\":[{asks}]}}",
            1_700_000_000_000u64 + e as u64 * 10
        ));
        id += 1;
    }
    (snapshot, out)
}
