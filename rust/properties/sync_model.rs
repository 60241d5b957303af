//! Sync model tests, one per venue family (Binance spot, Binance futures, Bybit, OKX): a true
//! book evolves by random changes; its messages, written with random decimals per message (so
//! the book's scales change mid-stream), are dropped, duplicated and reordered, then fed to a
//! [`SymbolBook`]. Whenever the book says it is synced it must equal the true book at the id it
//! reports; a lost message must show up as a gap (a resync follows), never as a silently wrong
//! book. Without perturbation every message applies and the book always matches.

use std::collections::BTreeMap;

use proptest::prelude::*;

use crate::book::Side;
use crate::symbol_book::{Config, Status, SymbolBook, Venue};

/// Prices in 1e-4, sizes in 1e-5 units.
type Ladder = BTreeMap<u64, u64>;

#[derive(Clone, Debug, Default)]
struct Truth {
    bids: Ladder,
    asks: Ladder,
}

/// One change to the true book: `(side is bid, price, size; 0 deletes)`.
type Change = (bool, u64, u64);

/// One message of the stream: its changes, ids and how its numbers are written.
#[derive(Clone, Debug)]
struct Message {
    changes: Vec<Change>,
    first: i64,
    last: i64,
    prev: i64,
    /// Extra trailing zeros on prices / sizes in this message.
    pad: (u8, u8),
}

/// `value × 10^-decimals` written with its significant decimals plus `pad` zeros.
fn write(value: u64, decimals: u32, pad: u8) -> String {
    let unit = 10u64.pow(decimals);
    let mut frac = value % unit;
    let mut digits = decimals;
    while digits > 0 && frac % 10 == 0 {
        frac /= 10;
        digits -= 1;
    }
    let mut text = format!("{}", value / unit);
    if digits > 0 || pad > 0 {
        text.push('.');
        if digits > 0 {
            text.push_str(&format!("{frac:0width$}", width = digits as usize));
        }
        text.extend(std::iter::repeat_n('0', usize::from(pad)));
    }
    text
}

fn levels_json(changes: &[Change], bids: bool, pad: (u8, u8), okx: bool) -> String {
    let items: Vec<String> = changes
        .iter()
        .filter(|c| c.0 == bids)
        .map(|&(_, p, q)| {
            let extra = if okx { ",\"0\",\"1\"" } else { "" };
            format!(
                "[\"{}\",\"{}\"{extra}]",
                write(p, 4, pad.0),
                write(q, 5, pad.1)
            )
        })
        .collect();
    format!("[{}]", items.join(","))
}

fn ladder_changes(truth: &Truth) -> Vec<Change> {
    let bids = truth.bids.iter().map(|(p, q)| (true, *p, *q));
    let asks = truth.asks.iter().map(|(p, q)| (false, *p, *q));
    bids.chain(asks).collect()
}

/// A diff payload of `venue` for `m`.
fn diff_payload(venue: Venue, m: &Message) -> String {
    let (b, a) = (
        levels_json(&m.changes, true, m.pad, venue == Venue::Okx),
        levels_json(&m.changes, false, m.pad, venue == Venue::Okx),
    );
    match venue {
        Venue::BinanceSpot => format!(
            "{{\"e\":\"depthUpdate\",\"E\":1,\"s\":\"BTCUSDT\",\"U\":{},\"u\":{},\"b\":{b},\"a\":{a}}}",
            m.first, m.last
        ),
        Venue::BinanceUsdm => format!(
            "{{\"stream\":\"btcusdt@depth@100ms\",\"data\":{{\"e\":\"depthUpdate\",\"E\":1,\"T\":1,\"s\":\"BTCUSDT\",\"U\":{},\"u\":{},\"pu\":{},\"b\":{b},\"a\":{a}}}}}",
            m.first, m.last, m.prev
        ),
        Venue::BybitLinear => format!(
            "{{\"topic\":\"orderbook.50.BTCUSDT\",\"type\":\"delta\",\"ts\":1,\"data\":{{\"s\":\"BTCUSDT\",\"b\":{b},\"a\":{a},\"u\":{},\"seq\":1}}}}",
            m.last
        ),
        Venue::Okx => format!(
            "{{\"arg\":{{\"channel\":\"books\",\"instId\":\"BTC-USDT\"}},\"action\":\"update\",\"data\":[{{\"asks\":{a},\"bids\":{b},\"ts\":\"1\",\"checksum\":0,\"seqId\":{},\"prevSeqId\":{}}}]}}",
            m.last, m.prev
        ),
        _ => unreachable!("one venue per family"),
    }
}

/// A snapshot of `truth` at `id`: a REST body for Binance, an in-band snapshot elsewhere.
fn snapshot_payload(venue: Venue, truth: &Truth, id: i64, pad: (u8, u8)) -> (String, bool) {
    let all = ladder_changes(truth);
    let okx = venue == Venue::Okx;
    let (b, a) = (
        levels_json(&all, true, pad, okx),
        levels_json(&all, false, pad, okx),
    );
    match venue {
        Venue::BinanceSpot | Venue::BinanceUsdm => (
            format!("{{\"lastUpdateId\":{id},\"bids\":{b},\"asks\":{a}}}"),
            true,
        ),
        Venue::BybitLinear => (
            format!(
                "{{\"topic\":\"orderbook.50.BTCUSDT\",\"type\":\"snapshot\",\"ts\":1,\"data\":{{\"s\":\"BTCUSDT\",\"b\":{b},\"a\":{a},\"u\":{id},\"seq\":1}}}}"
            ),
            false,
        ),
        Venue::Okx => (
            format!(
                "{{\"arg\":{{\"channel\":\"books\",\"instId\":\"BTC-USDT\"}},\"action\":\"snapshot\",\"data\":[{{\"asks\":{a},\"bids\":{b},\"ts\":\"1\",\"checksum\":0,\"seqId\":{id},\"prevSeqId\":-1}}]}}"
            ),
            false,
        ),
        _ => unreachable!("one venue per family"),
    }
}

fn apply_changes(truth: &mut Truth, changes: &[Change]) {
    for &(bid, p, q) in changes {
        let side = if bid {
            &mut truth.bids
        } else {
            &mut truth.asks
        };
        if q == 0 {
            side.remove(&p);
        } else {
            side.insert(p, q);
        }
    }
}

/// Ids for `n` messages in the venue's scheme, starting after `start`: `(first, last, prev)`.
fn ids(venue: Venue, start: i64, steps: &[(u8, u8)]) -> Vec<(i64, i64, i64)> {
    let mut last = start;
    steps
        .iter()
        .map(|&(skip, span)| {
            let prev = last;
            let (first, next) = match venue {
                // Contiguous ranges per symbol.
                Venue::BinanceSpot => (last + 1, last + 1 + i64::from(span)),
                // Ids shared across symbols: gaps between messages are normal, `pu` chains.
                // The first event after the REST snapshot straddles its id (`U <= lid <= u`).
                Venue::BinanceUsdm => {
                    let first = if prev == start {
                        start
                    } else {
                        last + 1 + i64::from(skip)
                    };
                    (first, first.max(last + 1) + i64::from(span))
                }
                Venue::BybitLinear => (last + 1, last + 1),
                // seqId jumps; prevSeqId chains.
                Venue::Okx => {
                    let id = last + 1 + i64::from(skip);
                    (id, id)
                }
                _ => unreachable!("one venue per family"),
            };
            last = next;
            (first, next, prev)
        })
        .collect()
}

/// The book's levels as `(price 1e-4, size 1e-5)` units, best first.
fn book_side(book: &SymbolBook, side: Side) -> Vec<(u64, u64)> {
    let b = book.book();
    let to = |value: u64, scale: u8, target: u32| -> u64 {
        let scale = u32::from(scale);
        if scale >= target {
            value / 10u64.pow(scale - target)
        } else {
            value * 10u64.pow(target - scale)
        }
    };
    b.side(side)
        .iter_best_first()
        .map(|l| {
            (
                to(side.price(l.key) as u64, b.price_scale, 4),
                to(l.qty(), b.qty_scale, 5),
            )
        })
        .collect()
}

fn truth_side(truth: &Truth, side: Side) -> Vec<(u64, u64)> {
    match side {
        Side::Bid => truth.bids.iter().rev().map(|(p, q)| (*p, *q)).collect(),
        Side::Ask => truth.asks.iter().map(|(p, q)| (*p, *q)).collect(),
    }
}

/// A perturbation of the stream at one position.
#[derive(Clone, Copy, Debug)]
enum Fault {
    None,
    Drop,
    Duplicate,
    /// Swap with the next message.
    Swap,
}

fn fault() -> impl Strategy<Value = Fault> {
    prop_oneof![
        16 => Just(Fault::None),
        1 => Just(Fault::Drop),
        1 => Just(Fault::Duplicate),
        1 => Just(Fault::Swap),
    ]
}

/// Random changes around a mid of 100.0000 (bids below, asks above: never crossed).
fn changes() -> impl Strategy<Value = Vec<Change>> {
    prop::collection::btree_map(
        (any::<bool>(), 0u64..40),
        prop_oneof![1 => Just(0u64), 4 => 1u64..2_000_000],
        1..6,
    )
    .prop_map(|m| {
        m.into_iter()
            .map(|((bid, offset), q)| {
                // Prices on a 0.0100 grid near the touch, 0.0001 further out.
                let step = if offset < 20 { 100 } else { 1 };
                let distance = 100 + offset * step * 7;
                let price = if bid {
                    1_000_000 - distance
                } else {
                    1_000_000 + distance
                };
                (bid, price, q)
            })
            .collect()
    })
}

type Stream = Vec<(Vec<Change>, (u8, u8), (u8, u8))>;

fn stream() -> impl Strategy<Value = Stream> {
    prop::collection::vec((changes(), (0u8..3, 0u8..3), (0u8..3, 0u8..3)), 1..40)
}

struct Run {
    venue: Venue,
    book: SymbolBook,
    /// True book after each id that ends a message.
    history: BTreeMap<i64, Truth>,
    gaps: u64,
}

impl Run {
    fn new(venue: Venue, initial: &Truth, start: i64) -> Run {
        let symbol = if venue == Venue::Okx {
            "BTC-USDT"
        } else {
            "BTCUSDT"
        };
        let mut book = SymbolBook::new(symbol, venue, Config::default()).unwrap();
        let (body, rest) = snapshot_payload(venue, initial, start, (0, 0));
        let status = if rest {
            book.apply_snapshot(body.as_bytes())
        } else {
            book.apply(body.as_bytes())
        };
        assert_eq!(status, Ok(Status::Applied));
        Run {
            venue,
            book,
            history: BTreeMap::from([(start, initial.clone())]),
            gaps: 0,
        }
    }

    /// The property: a synced book equals the truth at the id it reports.
    fn check(&self) -> Result<(), TestCaseError> {
        if !self.book.is_synced() {
            return Ok(());
        }
        let id = self.book.last_update_id().unwrap();
        let truth = self
            .history
            .get(&id)
            .ok_or_else(|| TestCaseError::fail(format!("synced at unknown id {id}")))?;
        for side in [Side::Bid, Side::Ask] {
            prop_assert_eq!(
                book_side(&self.book, side),
                truth_side(truth, side),
                "{:?} {:?} at id {}",
                self.venue,
                side,
                id
            );
        }
        prop_assert!(!self.book.book().is_crossed());
        Ok(())
    }

    /// After a gap the owner fetches a snapshot: of the truth at the newest id sent.
    fn resync(&mut self, newest: i64) -> Result<(), TestCaseError> {
        let truth = self.history[&newest].clone();
        let (body, rest) = snapshot_payload(self.venue, &truth, newest, (1, 0));
        let status = if rest {
            self.book.apply_snapshot(body.as_bytes())
        } else {
            self.book.apply(body.as_bytes())
        };
        prop_assert!(status.is_ok(), "{:?}", status);
        self.check()
    }
}

fn run(venue: Venue, stream: &Stream, faults: &[Fault]) -> Result<Run, TestCaseError> {
    let mut truth = Truth::default();
    truth.bids.insert(990_000, 100_000);
    truth.asks.insert(1_010_000, 100_000);
    let start = 1_000;
    let mut r = Run::new(venue, &truth, start);
    let spans: Vec<(u8, u8)> = stream.iter().map(|s| s.2).collect();
    let mut messages = Vec::new();
    for ((changes, pad, _), (first, last, prev)) in stream.iter().zip(ids(venue, start, &spans)) {
        apply_changes(&mut truth, changes);
        r.history.insert(last, truth.clone());
        messages.push(Message {
            changes: changes.clone(),
            first,
            last,
            prev,
            pad: *pad,
        });
    }
    // Perturb: drops, duplicates, swaps with the next message.
    let mut sent: Vec<&Message> = Vec::new();
    let mut i = 0;
    while i < messages.len() {
        match faults.get(i).copied().unwrap_or(Fault::None) {
            Fault::None => sent.push(&messages[i]),
            Fault::Drop => {}
            Fault::Duplicate => sent.extend([&messages[i], &messages[i]]),
            Fault::Swap if i + 1 < messages.len() => {
                sent.extend([&messages[i + 1], &messages[i]]);
                i += 1;
            }
            Fault::Swap => sent.push(&messages[i]),
        }
        i += 1;
    }
    let mut newest = start;
    for m in sent {
        newest = newest.max(m.last);
        let status = r.book.apply(diff_payload(venue, m).as_bytes());
        prop_assert!(status.is_ok(), "{:?}", status);
        if status == Ok(Status::Gap) {
            r.gaps += 1;
        }
        r.check()?;
        if !r.book.is_synced() {
            r.resync(newest)?;
        }
    }
    Ok(r)
}

const FAMILIES: [Venue; 4] = [
    Venue::BinanceSpot,
    Venue::BinanceUsdm,
    Venue::BybitLinear,
    Venue::Okx,
];

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// Drops, duplicates and reorders: the book matches the truth or knows it does not.
    #[test]
    fn perturbed_streams_never_silently_diverge(
        stream in stream(),
        faults in prop::collection::vec(fault(), 40),
    ) {
        for venue in FAMILIES {
            let r = run(venue, &stream, &faults)?;
            let dropped = faults.iter().take(stream.len()).any(|f| matches!(f, Fault::Drop));
            // Each lost message that mattered was reported; with nothing lost, nothing was.
            if !dropped && !faults.iter().take(stream.len()).any(|f| matches!(f, Fault::Swap)) {
                prop_assert_eq!(r.gaps, 0, "{:?}", venue);
            }
        }
    }

    /// Random decimals per message on every venue: every message applies, the scales follow
    /// the most precise value seen, and the book always equals the truth.
    #[test]
    fn clean_streams_with_random_decimals_always_match(stream in stream()) {
        for venue in FAMILIES {
            let r = run(venue, &stream, &[])?;
            prop_assert_eq!(r.gaps, 0, "{:?}", venue);
            prop_assert!(r.book.is_synced());
            // The price scale is the most decimals any price was written with.
            let written = |p: u64, pad: u8| {
                let sig = (0..4u8).rev().find(|d| p % 10u64.pow(4 - u32::from(*d)) != 0);
                sig.map_or(0, |d| d + 1) + pad
            };
            let expected = stream
                .iter()
                .flat_map(|(changes, pad, _)| changes.iter().map(move |c| written(c.1, pad.0)))
                .max()
                .unwrap_or(0);
            prop_assert_eq!(r.book.book().price_scale, expected);
            // Mids stay within 99.3..100.7 (bps of a few hundred at most per update): a scale
            // change read as a price move would show as ~23,000 bps.
            let row = r.book.features(5, None);
            let vol = row[crate::features::FEATURE_NAMES.iter().position(|n| *n == "volatility_bps").unwrap()];
            prop_assert!(vol.is_nan() || vol < 500.0, "{:?}: volatility {} bps", venue, vol);
            prop_assert!(row.iter().all(|v| !v.is_infinite()));
        }
    }
}

#[test]
fn a_dropped_message_is_a_gap_on_every_venue() {
    let stream: Stream = (0..4)
        .map(|i| (vec![(true, 999_000 - i * 100, 5)], (0, 0), (1, 1)))
        .collect();
    let faults = [Fault::None, Fault::Drop, Fault::None, Fault::None];
    for venue in FAMILIES {
        let r = run(venue, &stream, &faults).unwrap();
        assert!(r.gaps >= 1, "{venue:?}");
        assert!(r.book.is_synced(), "{venue:?}: resynced after the gap");
    }
}
