//! Property tests: random valid diff streams against a plain reference model, never crossed on
//! valid input, and atomicity on malformed input.

use std::collections::BTreeMap;

use proptest::prelude::*;

use crate::book::Book;
use crate::symbol_book::{Config, Status, SymbolBook, Venue};

/// (price in cents, size in lots; 0 deletes)
type Change = (u32, u32);

fn levels_json(levels: &[Change]) -> String {
    let items: Vec<String> = levels
        .iter()
        .map(|(p, q)| {
            format!(
                "[\"{}.{:02}\",\"{}.{:03}\"]",
                p / 100,
                p % 100,
                q / 1000,
                q % 1000
            )
        })
        .collect();
    format!("[{}]", items.join(","))
}

fn diff_json(id: u64, bids: &[Change], asks: &[Change]) -> String {
    format!(
        "{{\"e\":\"depthUpdate\",\"E\":1,\"s\":\"BTCUSDT\",\"U\":{id},\"u\":{id},\"b\":{},\"a\":{}}}",
        levels_json(bids),
        levels_json(asks)
    )
}

/// Unique prices per side per event, as the venue sends them.
fn side(prices: std::ops::Range<u32>) -> impl Strategy<Value = Vec<Change>> {
    prop::collection::btree_map(
        prices,
        prop_oneof![1 => Just(0u32), 4 => 1u32..50_000],
        0..8,
    )
    .prop_map(|m| m.into_iter().collect())
}

fn event(
    bid_prices: std::ops::Range<u32>,
    ask_prices: std::ops::Range<u32>,
) -> impl Strategy<Value = (Vec<Change>, Vec<Change>)> {
    (side(bid_prices), side(ask_prices))
}

fn reference_top(reference: &BTreeMap<u32, u32>, descending: bool) -> Vec<(u32, u32)> {
    let items: Vec<(u32, u32)> = reference.iter().map(|(p, q)| (*p, *q)).collect();
    if descending {
        items.into_iter().rev().collect()
    } else {
        items
    }
}

fn book_levels(book: &Book, bids: bool) -> Vec<(u32, u32)> {
    let ladder = if bids { &book.bids } else { &book.asks };
    let price_factor = 10u64.pow(u32::from(book.price_scale) - 2);
    let qty_factor = 10u64.pow(u32::from(book.qty_scale) - 3);
    ladder
        .iter_best_first()
        .map(|l| {
            (
                (l.key.unsigned_abs() / price_factor) as u32,
                (l.qty() / qty_factor) as u32,
            )
        })
        .collect()
}

fn synced_book() -> SymbolBook {
    let mut book = SymbolBook::new("BTCUSDT", Venue::BinanceSpot, Config::default()).unwrap();
    let status = book.apply_snapshot(
        b"{\"lastUpdateId\":0,\"bids\":[[\"0.01\",\"0.001\"]],\"asks\":[[\"999.99\",\"0.001\"]]}",
    );
    assert_eq!(status, Ok(Status::Applied));
    book
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    #[test]
    fn matches_the_reference_and_is_never_crossed(events in prop::collection::vec(event(100..10_000, 10_000..20_000), 1..60)) {
        let mut book = synced_book();
        let mut bids = BTreeMap::from([(1u32, 1u32)]);
        let mut asks = BTreeMap::from([(99_999u32, 1u32)]);
        for (i, (b, a)) in events.iter().enumerate() {
            let status = book.apply(diff_json(i as u64 + 1, b, a).as_bytes());
            prop_assert_eq!(status, Ok(Status::Applied));
            for (side, changes) in [(&mut bids, b), (&mut asks, a)] {
                for &(p, q) in changes {
                    if q == 0 { side.remove(&p); } else { side.insert(p, q); }
                }
            }
            prop_assert!(!book.book().is_crossed());
            prop_assert_eq!(book_levels(book.book(), true), reference_top(&bids, true));
            prop_assert_eq!(book_levels(book.book(), false), reference_top(&asks, false));
        }
    }

    #[test]
    fn a_malformed_diff_changes_nothing(
        events in prop::collection::vec(event(100..10_000, 10_000..20_000), 1..20),
        bad in event(100..10_000, 10_000..20_000),
        garbage in prop_oneof![Just("\"x1\""), Just("\"1e5\""), Just("\"-3\""), Just("7"), Just("\"99999999999999999999\"")],
        position in 0usize..8,
        on_bids in any::<bool>(),
    ) {
        let mut book = synced_book();
        for (i, (b, a)) in events.iter().enumerate() {
            book.apply(diff_json(i as u64 + 1, b, a).as_bytes()).unwrap();
        }
        let before = book.book().clone();
        let last = book.last_update_id();
        // Splice one bad level into an otherwise valid next diff.
        let (mut b, mut a) = bad;
        let target = if on_bids { &mut b } else { &mut a };
        let at = position.min(target.len());
        target.insert(at, (0, 0));
        let text = diff_json(events.len() as u64 + 1, &b, &a);
        let marker = "[\"0.00\",\"0.000\"]";
        let broken = text.replacen(marker, &format!("[{garbage},\"1\"]"), 1);
        prop_assert!(book.apply(broken.as_bytes()).is_err());
        prop_assert_eq!(book.book(), &before);
        prop_assert_eq!(book.last_update_id(), last);
        // Truncation anywhere is refused too.
        for cut in (1..text.len()).step_by(7) {
            prop_assert!(book.apply(&text.as_bytes()[..cut]).is_err());
        }
        prop_assert_eq!(book.book(), &before);
    }
}

mod sync_model;
