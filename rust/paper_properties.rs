//! Property tests of the paper venue: random order flow, books and trades; the venue's
//! accounting invariants hold whatever arrives.

use std::collections::HashMap;

use proptest::prelude::*;

use crate::model::{ClientId, Price, Qty};
use crate::paper::{Event, NewOrder, PaperConfig, PaperSim, Side};

const TICK: f64 = 0.01;
const MID: i64 = 10_000;

#[derive(Clone, Debug)]
enum Op {
    /// (side is buy, ticks from the mid, qty in hundredths, post-only)
    Submit(bool, i64, u32, bool),
    /// cancel the n-th order submitted so far (modulo)
    Cancel(usize),
    /// amend the n-th order submitted so far (modulo) to a percentage of its sent size
    Amend(usize, u32),
    /// a book around the mid: (bid ticks below, bid size, ask ticks above, ask size, how
    /// it is passed: 0 floats, 1 the book's integers at the lot's grid, 2 at a finer grid)
    Book(i64, u32, i64, u32, u8),
    /// a trade: (buyer aggressor, ticks from the mid, qty in hundredths)
    Trade(bool, i64, u32),
    /// let time pass (milliseconds)
    Wait(u32),
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        3 => (any::<bool>(), -4i64..5, 1u32..300, any::<bool>())
            .prop_map(|(b, d, q, p)| Op::Submit(b, d, q, p)),
        2 => (0usize..64).prop_map(Op::Cancel),
        2 => (0usize..64, 1u32..120).prop_map(|(n, pct)| Op::Amend(n, pct)),
        2 => (0i64..3, 0u32..500, 1i64..4, 0u32..500, 0u8..3)
            .prop_map(|(a, b, c, d, how)| Op::Book(a, b, c, d, how)),
        3 => (any::<bool>(), -4i64..5, 1u32..400).prop_map(|(b, d, q)| Op::Trade(b, d, q)),
        2 => (0u32..12).prop_map(Op::Wait),
    ]
}

struct Sent {
    side: Side,
    price_ticks: Price,
    qty: Qty,
}

/// What we know from the responses so far.
#[derive(Default)]
struct Seen {
    filled: HashMap<ClientId, Qty>,
    /// Sizes amended down (an order's size is what it was sent with until then).
    size: HashMap<ClientId, Qty>,
    resting: HashMap<ClientId, (Side, Price)>,
    last_ts: f64,
}

/// Checks `events` against what was sent and updates `seen`; returns the maker quantity filled.
fn check(
    events: &[Event],
    sent: &[(ClientId, Sent)],
    seen: &mut Seen,
) -> Result<Qty, TestCaseError> {
    let mut maker_qty = Qty::ZERO;
    for event in events {
        prop_assert!(event.ts() >= seen.last_ts, "responses out of order");
        seen.last_ts = event.ts();
        let id = event.client_id();
        let Some((_, info)) = sent.iter().find(|(cid, _)| *cid == id) else {
            return Err(TestCaseError::fail(format!("event for unknown {id:?}")));
        };
        match event {
            Event::Acked { .. } => {
                seen.resting.insert(id, (info.side, info.price_ticks));
            }
            Event::Filled {
                qty,
                price_ticks,
                side,
                maker,
                fee,
                ..
            } => {
                prop_assert!(qty.is_positive(), "fill of size {}", qty);
                prop_assert_eq!(*side, info.side);
                let size = *seen.size.get(&id).unwrap_or(&info.qty);
                let total = seen.filled.entry(id).or_default();
                *total += *qty;
                prop_assert!(*total <= size, "{:?} overfilled", id);
                if *total == size {
                    seen.resting.remove(&id);
                }
                // a maker fills at its own price, a taker at or better than its limit
                let better = (info.price_ticks - *price_ticks) * info.side.sign();
                let fair_price = if *maker { better == 0 } else { better >= 0 };
                prop_assert!(
                    fair_price,
                    "{:?} filled at {} (maker: {})",
                    id,
                    price_ticks,
                    maker
                );
                let bps = if *maker { 1.0 } else { 5.0 };
                let expected =
                    price_ticks.ticks() as f64 * TICK * (qty.lots() as f64 / 100.0) * bps * 1e-4;
                prop_assert!((fee - expected).abs() <= 1e-12 * expected.abs().max(1.0));
                if *maker {
                    maker_qty += *qty;
                }
            }
            Event::Cancelled { .. } | Event::Rejected { .. } => {
                seen.resting.remove(&id);
            }
            Event::CancelRejected { .. } | Event::AmendRejected { .. } => {}
            Event::Amended { qty, .. } => {
                // only a reduction, and never to or below what has filled (that cancels)
                let size = *seen.size.get(&id).unwrap_or(&info.qty);
                let filled = seen.filled.get(&id).copied().unwrap_or_default();
                prop_assert!(*qty < size && *qty > filled, "{:?} amended to {}", id, qty);
                prop_assert!(
                    seen.resting.contains_key(&id),
                    "{:?} amended but not resting",
                    id
                );
                seen.size.insert(id, *qty);
            }
        }
    }
    let bids = seen.resting.values().filter(|(s, _)| *s == Side::Buy);
    let asks = seen.resting.values().filter(|(s, _)| *s == Side::Sell);
    if let (Some(bid), Some(ask)) = (bids.map(|r| r.1).max(), asks.map(|r| r.1).min()) {
        prop_assert!(bid < ask, "our own orders crossed: {} >= {}", bid, ask);
    }
    Ok(maker_qty)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn fills_never_exceed_orders_or_trades_and_our_orders_never_cross(
        ops in prop::collection::vec(op(), 1..120),
        probabilistic in any::<bool>(),
        feed_ms in 0u8..3,
    ) {
        // Responses reach us at once, so a trade's fills are what a poll right after it holds
        // (the feed latency only moves the venue's clock back).
        let cfg = PaperConfig {
            probabilistic,
            tick_size: TICK,
            lot_size: 0.01,
            response_latency_s: 0.0,
            feed_latency_s: f64::from(feed_ms) * 0.001,
            ..PaperConfig::default()
        };
        let mut venue = PaperSim::new(cfg).unwrap();
        let mut sent: Vec<(ClientId, Sent)> = Vec::new();
        let mut seen = Seen { last_ts: f64::NEG_INFINITY, ..Seen::default() };
        let mut now = 0.0;
        for op in ops {
            now += 0.001;
            match op {
                Op::Submit(buy, from_mid, qty, post_only) => {
                    let side = if buy { Side::Buy } else { Side::Sell };
                    let order = NewOrder {
                        client_id: ClientId { prefix: 0, seq: sent.len() as u64 },
                        symbol: "X".to_owned(),
                        side,
                        price_ticks: Price(MID + from_mid),
                        qty: Qty(i64::from(qty)),
                        post_only,
                    };
                    let info = Sent { side, price_ticks: order.price_ticks, qty: order.qty };
                    sent.push((order.client_id, info));
                    venue.submit(order, now).unwrap();
                }
                Op::Cancel(n) if !sent.is_empty() => {
                    venue.cancel(sent[n % sent.len()].0, now).unwrap();
                }
                Op::Cancel(_) => {}
                Op::Amend(n, pct) if !sent.is_empty() => {
                    let (id, info) = &sent[n % sent.len()];
                    let qty = Qty((info.qty.lots() * i64::from(pct) / 100).max(1));
                    venue.amend(*id, qty, now).unwrap();
                }
                Op::Amend(..) => {}
                Op::Book(below, bid_size, above, ask_size, 0) => {
                    let bids = [((MID - below) as f64 * TICK, f64::from(bid_size) / 100.0)];
                    let asks = [((MID + above) as f64 * TICK, f64::from(ask_size) / 100.0)];
                    venue.on_book(bids, asks, now).unwrap();
                }
                Op::Book(below, bid_size, above, ask_size, how) => {
                    // sizes in hundredths (lots); at 3 decimals, a tenth of a lot more
                    let (scale, extra) = if how == 1 { (2, 0) } else { (3, 5) };
                    let size = |s: u32| u64::from(s) * 10u64.pow(scale - 2) + extra;
                    let bids = [(MID - below, size(bid_size))];
                    let asks = [(MID + above, size(ask_size))];
                    venue.on_book_scaled(bids, asks, 2, scale as u8, now).unwrap();
                }
                Op::Trade(buyer, from_mid, qty) => {
                    check(&venue.poll(now), &sent, &mut seen)?; // arrivals before the trade
                    let qty = Qty(i64::from(qty));
                    venue.on_trade(Price(MID + from_mid), qty, buyer, now).unwrap();
                    let maker = check(&venue.poll(now), &sent, &mut seen)?;
                    prop_assert!(maker <= qty, "one trade filled {} of {}", maker, qty);
                }
                Op::Wait(ms) => now += f64::from(ms) / 1000.0,
            }
            check(&venue.poll(now), &sent, &mut seen)?;
        }
        check(&venue.poll(now + 1.0), &sent, &mut seen)?; // everything in flight lands
        let mut open: Vec<_> = venue.open_orders("X").collect();
        let mut expected: Vec<_> = seen.resting.keys().cloned().collect();
        open.sort_unstable();
        expected.sort_unstable();
        prop_assert_eq!(open, expected);
    }
}
