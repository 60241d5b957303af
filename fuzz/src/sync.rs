//! The per-symbol sync state machine fed arbitrary message sequences.
//!
//! The fuzz bytes are read as a script (see [`check`]): a true market evolves by small changes
//! (prices 0.1 to 3.2, sizes 0.125 to 0.375, never crossed: a bid at or above the best ask
//! takes the asks it reaches out in the same message, as a venue's book does), and its messages
//! are delivered, dropped, duplicated, swapped, corrupted or resynced by a snapshot (current or
//! old). Numbers are written with random trailing zeros, so the book's scales change
//! mid-stream. After every payload:
//! - the status agrees with the state ([`crate::book_checks::step`]: no zero-size level, an
//!   error or a stale message changes nothing, an unsynced book is empty, ...);
//! - whenever the book says it is synced it equals the true book at the id it reports, so it is
//!   never crossed and a lost message shows up as a gap, never as a wrong book;
//! - a corrupted message is refused.

use std::collections::{BTreeMap, VecDeque};

use _core::book::{Ladder, Side};
use _core::fixed::Decimal;
use _core::symbol_book::{Config, SymbolBook, Venue};
use _core::sync::Ids;

use crate::book_checks::step;

/// Venues with distinct sync rules.
const VENUES: [Venue; 4] = [
    Venue::BinanceSpot,
    Venue::BinanceUsdm,
    Venue::BybitLinear,
    Venue::Okx,
];

/// Price levels of one side: price in tenths → size in thousandths.
type Side_ = BTreeMap<u64, u64>;

#[derive(Clone, Debug, Default, PartialEq, Eq)]
struct Truth {
    bids: Side_,
    asks: Side_,
}

/// One change: (is bid, price in tenths, size in thousandths; 0 deletes).
type Change = (bool, u64, u64);

/// A venue message: its changes, its ids (the core's own id triple) and its padding.
#[derive(Clone, Debug)]
struct Message {
    changes: Vec<Change>,
    ids: Ids,
    /// Extra trailing zeros on prices and sizes.
    pad: (u8, u8),
}

/// Sizes that replace a level's size in a corrupted message: none is a valid decimal string.
const CORRUPT: [&str; 8] = [
    "-1",
    "1e3",
    "",
    "1.",
    "99999999999999999999999",
    ".5",
    "0.0000000000000000001",
    "1,5",
];

/// The fuzz bytes, read one at a time (zero once exhausted).
struct Script<'a> {
    data: &'a [u8],
    at: usize,
}

impl Script<'_> {
    fn byte(&mut self) -> u8 {
        let b = self.data.get(self.at).copied().unwrap_or(0);
        self.at += 1;
        b
    }

    fn done(&self) -> bool {
        self.at >= self.data.len()
    }
}

/// `value × 10^-decimals` with its significant decimals plus `pad` zeros (the core's writer,
/// itself checked against a reference by the decimal target).
fn write(value: u64, decimals: u8, pad: u8) -> String {
    let significant = Decimal {
        mantissa: value,
        decimals,
    }
    .significant_decimals();
    let mut text = String::new();
    Decimal::write_at(value, decimals, significant + pad, &mut text);
    text
}

/// One side's levels as JSON; `corrupt` replaces the last level's size.
fn levels_json(levels: &[(u64, u64)], pad: (u8, u8), okx: bool, corrupt: Option<&str>) -> String {
    let items: Vec<String> = levels
        .iter()
        .enumerate()
        .map(|(i, &(p, q))| {
            let size = match corrupt {
                Some(bad) if i + 1 == levels.len() => bad.to_owned(),
                _ => write(q, 3, pad.1),
            };
            let extra = if okx { ",\"0\",\"1\"" } else { "" };
            format!("[\"{}\",\"{size}\"{extra}]", write(p, 1, pad.0))
        })
        .collect();
    format!("[{}]", items.join(","))
}

fn side_levels(changes: &[Change], bids: bool) -> Vec<(u64, u64)> {
    changes
        .iter()
        .filter(|c| c.0 == bids)
        .map(|c| (c.1, c.2))
        .collect()
}

fn diff_payload(venue: Venue, m: &Message, corrupt: Option<&str>) -> String {
    let okx = venue == Venue::Okx;
    let bids = side_levels(&m.changes, true);
    let asks = side_levels(&m.changes, false);
    // Corrupt the side that has levels (every message has at least one change).
    let (bad_bid, bad_ask) = if asks.is_empty() {
        (corrupt, None)
    } else {
        (None, corrupt)
    };
    let b = levels_json(&bids, m.pad, okx, bad_bid);
    let a = levels_json(&asks, m.pad, okx, bad_ask);
    let Ids { first, last, prev } = m.ids;
    let prev = prev.unwrap_or_default();
    match venue {
        Venue::BinanceSpot => format!(
            r#"{{"e":"depthUpdate","E":1,"s":"BTCUSDT","U":{first},"u":{last},"b":{b},"a":{a}}}"#
        ),
        Venue::BinanceUsdm => format!(
            r#"{{"stream":"btcusdt@depth@100ms","data":{{"e":"depthUpdate","E":1,"T":1,"s":"BTCUSDT","U":{first},"u":{last},"pu":{prev},"b":{b},"a":{a}}}}}"#
        ),
        Venue::BybitLinear => format!(
            r#"{{"topic":"orderbook.50.BTCUSDT","type":"delta","ts":1,"data":{{"s":"BTCUSDT","b":{b},"a":{a},"u":{last},"seq":1}}}}"#
        ),
        _ => format!(
            r#"{{"arg":{{"channel":"books","instId":"BTC-USDT"}},"action":"update","data":[{{"asks":{a},"bids":{b},"ts":"1","checksum":0,"seqId":{last},"prevSeqId":{prev}}}]}}"#
        ),
    }
}

/// A snapshot of `truth` at `id`, and whether it is a REST body (Binance) or in-band.
fn snapshot_payload(venue: Venue, truth: &Truth, id: i64, pad: (u8, u8)) -> (String, bool) {
    let okx = venue == Venue::Okx;
    let bids: Vec<_> = truth.bids.iter().rev().map(|(p, q)| (*p, *q)).collect();
    let asks: Vec<_> = truth.asks.iter().map(|(p, q)| (*p, *q)).collect();
    let (b, a) = (
        levels_json(&bids, pad, okx, None),
        levels_json(&asks, pad, okx, None),
    );
    match venue {
        Venue::BinanceSpot | Venue::BinanceUsdm => (
            format!(r#"{{"lastUpdateId":{id},"bids":{b},"asks":{a}}}"#),
            true,
        ),
        Venue::BybitLinear => (
            format!(
                r#"{{"topic":"orderbook.50.BTCUSDT","type":"snapshot","ts":1,"data":{{"s":"BTCUSDT","b":{b},"a":{a},"u":{id},"seq":1}}}}"#
            ),
            false,
        ),
        _ => (
            format!(
                r#"{{"arg":{{"channel":"books","instId":"BTC-USDT"}},"action":"snapshot","data":[{{"asks":{a},"bids":{b},"ts":"1","checksum":0,"seqId":{id},"prevSeqId":-1}}]}}"#
            ),
            false,
        ),
    }
}

/// Applies one change to the market, with the opposite levels it crosses removed; returns the
/// changes as the venue would send them.
fn change_market(truth: &mut Truth, (bid, price, size): Change, out: &mut Vec<Change>) {
    let (own, other) = if bid {
        (&mut truth.bids, &mut truth.asks)
    } else {
        (&mut truth.asks, &mut truth.bids)
    };
    if size == 0 {
        own.remove(&price);
    } else {
        own.insert(price, size);
        let crossed: Vec<u64> = if bid {
            other.range(..=price).map(|(p, _)| *p).collect()
        } else {
            other.range(price..).map(|(p, _)| *p).collect()
        };
        for p in crossed {
            other.remove(&p);
            out.retain(|c| !(c.0 != bid && c.1 == p));
            out.push((!bid, p, 0));
        }
    }
    out.retain(|c| !(c.0 == bid && c.1 == price));
    out.push((bid, price, size));
}

/// The book equals `truth` level by level (prices and sizes compared exactly at the book's
/// scales).
fn assert_equals_truth(book: &SymbolBook, truth: &Truth, id: i64) {
    let b = book.book();
    let (ps, qs) = (
        10u128.pow(u32::from(b.price_scale)),
        10u128.pow(u32::from(b.qty_scale)),
    );
    let read = |ladder: &Ladder, side: Side| -> Vec<(u128, u128)> {
        ladder
            .iter_best_first()
            .map(|l| (side.price(l.key) as u128 * 10, u128::from(l.qty()) * 1000))
            .collect()
    };
    let want = |levels: Vec<(&u64, &u64)>| -> Vec<(u128, u128)> {
        levels
            .into_iter()
            .map(|(p, q)| (u128::from(*p) * ps, u128::from(*q) * qs))
            .collect()
    };
    assert_eq!(
        (read(&b.bids, Side::Bid), read(&b.asks, Side::Ask)),
        (
            want(truth.bids.iter().rev().collect()),
            want(truth.asks.iter().collect())
        ),
        "the synced book at id {id} is not the market at that id: {b:?}\nmarket: {truth:?}"
    );
    assert!(!b.is_crossed(), "a synced book is crossed");
}

/// Runs the script in `data` (see the module docs). Byte 0 picks the venue and the buffer
/// size; then each op byte: 0–2 a market change (1–4 changes of 2 bytes, a padding byte, an id
/// step byte), 3 deliver the next message, 4 drop it, 5 deliver the last one again, 6 swap the
/// next two, 7 a snapshot (age byte), 8 deliver the next message with a corrupted size.
pub fn check(data: &[u8]) {
    run(data);
}

/// [`check`], returning how many times a synced book was compared with the market (with at
/// least one level), so tests can show the script reaches the interesting states.
pub fn run(data: &[u8]) -> usize {
    let mut compared = 0;
    let mut script = Script { data, at: 0 };
    let head = script.byte();
    let venue = VENUES[usize::from(head % 4)];
    let config = Config {
        max_buffer: 1 + usize::from(head / 4 % 8),
        ..Config::default()
    };
    let symbol = if venue == Venue::Okx {
        "BTC-USDT"
    } else {
        "BTCUSDT"
    };
    let mut book = SymbolBook::new(symbol, venue, config).expect("valid config");
    // Ids start high: a Bybit message with u == 1 is a snapshot by the venue's rule.
    let start = 1000;
    let mut truth = Truth::default();
    let mut history: BTreeMap<i64, Truth> = BTreeMap::from([(start, Truth::default())]);
    let mut last_id = start;
    let mut pending: VecDeque<Message> = VecDeque::new();
    let mut delivered: Option<Message> = None;
    for _ in 0..512 {
        if script.done() {
            break;
        }
        let op = script.byte() % 9;
        let outcome = match op {
            0..=2 => {
                let n = script.byte() % 4 + 1;
                let mut changes = Vec::new();
                for _ in 0..n {
                    let (a, b) = (script.byte(), script.byte());
                    let change = (
                        a & 1 == 1,
                        u64::from((a >> 1) % 32 + 1),
                        u64::from(b % 4) * 125,
                    );
                    change_market(&mut truth, change, &mut changes);
                }
                let pad = script.byte();
                let step_byte = script.byte();
                let (first, last) = match venue {
                    Venue::BinanceSpot | Venue::BinanceUsdm => {
                        (last_id + 1, last_id + 1 + i64::from(step_byte % 3))
                    }
                    Venue::BybitLinear => (last_id + 1, last_id + 1),
                    _ => {
                        let seq = last_id + 1 + i64::from(step_byte % 3);
                        (seq, seq)
                    }
                };
                pending.push_back(Message {
                    changes,
                    ids: Ids {
                        first,
                        last,
                        prev: Some(last_id),
                    },
                    pad: (pad % 3, pad / 3 % 3),
                });
                last_id = last;
                history.insert(last, truth.clone());
                continue;
            }
            3 => match pending.pop_front() {
                Some(m) => {
                    let outcome = step(&mut book, diff_payload(venue, &m, None).as_bytes(), false);
                    delivered = Some(m);
                    outcome
                }
                None => continue,
            },
            4 => {
                pending.pop_front();
                continue;
            }
            5 => match &delivered {
                Some(m) => step(&mut book, diff_payload(venue, m, None).as_bytes(), false),
                None => continue,
            },
            6 => {
                if pending.len() >= 2 {
                    pending.swap(0, 1);
                }
                continue;
            }
            7 => {
                let age = usize::from(script.byte() % 4);
                let pad = script.byte();
                let (&id, old) = history.iter().rev().nth(age).unwrap_or_else(|| {
                    history
                        .first_key_value()
                        .expect("the start is in the history")
                });
                let (payload, rest) = snapshot_payload(venue, old, id, (pad % 3, pad / 3 % 3));
                step(&mut book, payload.as_bytes(), rest)
            }
            _ => {
                let bad = CORRUPT[usize::from(script.byte()) % CORRUPT.len()];
                let Some(m) = pending.front() else { continue };
                let outcome = step(
                    &mut book,
                    diff_payload(venue, m, Some(bad)).as_bytes(),
                    false,
                );
                assert!(
                    outcome.is_err(),
                    "a size of {bad:?} was accepted: {outcome:?}"
                );
                outcome
            }
        };
        let _ = outcome;
        if book.is_synced() {
            let id = book.last_update_id().expect("a synced book has an id");
            let at = history
                .get(&id)
                .unwrap_or_else(|| panic!("synced at id {id}, which no message ended at"));
            assert_equals_truth(&book, at, id);
            compared += usize::from(!at.bids.is_empty() || !at.asks.is_empty());
        }
    }
    compared
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A script for `venue`: two changes, a snapshot, three more changes delivered in order.
    fn in_order(venue: u8) -> Vec<u8> {
        let change = |price: u8, bid: u8, size: u8| [0, 0, price << 1 | bid, size, 0, 0];
        let mut ops = vec![venue];
        ops.extend(change(3, 1, 1));
        ops.extend(change(9, 0, 2));
        ops.extend([7, 0, 0]);
        for (price, bid) in [(4, 1), (8, 0), (5, 1)] {
            ops.extend(change(price, bid, 3));
            ops.push(3);
        }
        ops
    }

    #[test]
    fn every_venue_syncs_and_follows_the_market() {
        for venue in 0..4 {
            assert!(run(&in_order(venue)) >= 3, "venue {venue}");
        }
    }

    #[test]
    fn a_dropped_message_is_a_gap_not_a_wrong_book() {
        for venue in 0..4 {
            let mut ops = in_order(venue);
            // Drop the second delivered change instead of delivering it.
            let at = ops.iter().rposition(|&b| b == 3).unwrap();
            let second = ops[..at].iter().rposition(|&b| b == 3).unwrap();
            ops[second] = 4;
            run(&ops);
        }
    }
}
