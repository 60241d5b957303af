//! Property tests of order desks trading on paper venues, one desk and one venue per symbol:
//! random books, trades (sizes up to 1e8 lots), targets, cancels and time steps, with random
//! latencies. After every event the desks' books are consistent with what they sent; whenever
//! nothing is in flight, each desk and its venue agree on every order's open lots exactly.

use std::collections::HashSet;

use proptest::prelude::*;

use super::desk::{no_gate, Action, Desk, DeskConfig};
use super::{Price, Qty, Side};
use crate::model::ClientId;
use crate::paper::{PaperConfig, PaperSim};

const MID: i64 = 10_000;
const SYMBOLS: [&str; 3] = ["BTC", "ETH", "DOGE"];
/// The lot: book sizes are floats of whole lots on the wire.
const LOT: f64 = 0.001;

#[derive(Clone, Debug)]
enum Op {
    /// a book of symbol k around the mid: (k, bid ticks below, bid lots, ask ticks above, ask lots)
    Book(usize, i64, i64, i64, i64),
    /// a trade of symbol k: (k, buyer aggressor, ticks from the mid, lots)
    Trade(usize, bool, i64, i64),
    /// targets of symbol k: (k, bid ticks below the mid, ask ticks above, levels, lots)
    Quote(usize, i64, i64, usize, i64),
    /// cancel every working order of symbol k
    CancelAll(usize),
    /// let time pass (milliseconds)
    Wait(u32),
    /// let every response land, then check desks and venues agree exactly
    Settle,
}

/// Up to 1e8 lots, mostly large, sometimes tiny.
fn lots() -> impl Strategy<Value = i64> {
    prop_oneof![1i64..1_000, 1i64..=100_000_000]
}

fn op() -> impl Strategy<Value = Op> {
    let k = 0usize..SYMBOLS.len();
    prop_oneof![
        2 => (k.clone(), 0i64..3, 0i64..=100_000_000, 1i64..4, 0i64..=100_000_000)
            .prop_map(|(k, a, b, c, d)| Op::Book(k, a, b, c, d)),
        3 => (k.clone(), any::<bool>(), -4i64..5, lots()).prop_map(|(k, b, d, q)| Op::Trade(k, b, d, q)),
        4 => (k.clone(), -1i64..4, -1i64..4, 0usize..4, lots())
            .prop_map(|(k, b, a, n, q)| Op::Quote(k, b, a, n, q)),
        1 => k.prop_map(Op::CancelAll),
        2 => (0u32..15).prop_map(Op::Wait),
        1 => Just(Op::Settle),
    ]
}

fn config() -> impl Strategy<Value = (DeskConfig, PaperConfig)> {
    let knobs = (0u8..3, 0u8..4, 0u8..3, 0u8..3, 0u8..3, any::<u64>());
    (knobs, any::<bool>()).prop_map(|((tol, age, latency, cap, jitter, seed), can_amend)| {
        let desk = DeskConfig {
            lot_size: LOT,
            tolerance_ticks: f64::from(tol),
            tolerance_bps: 0.0,
            size_tolerance: 0.25,
            max_order_age_s: [0.004, 0.02, 1.0, 30.0][usize::from(age)],
            recent_fill_ids: 100,
            max_open_orders: [2, 5, 200][usize::from(cap)],
            can_amend,
        };
        let ms = f64::from(latency) * 0.002;
        let paper = PaperConfig {
            entry_latency_s: ms,
            cancel_latency_s: 2.0 * ms,
            response_latency_s: ms,
            feed_latency_s: ms,
            latency_jitter_s: f64::from(jitter) * 0.002,
            seed,
            lot_size: LOT,
            ..PaperConfig::default()
        };
        (desk, paper)
    })
}

/// One symbol's desk and venue, and what it saw.
struct Market {
    symbol: &'static str,
    /// The desk's client id prefix as the venue's table knows it.
    prefix: u32,
    desk: Desk,
    sim: PaperSim,
    /// New fills reported by the desk.
    fills_new: u64,
}

impl Market {
    /// The venue's id of the desk's order `seq`.
    fn id(&self, seq: u64) -> ClientId {
        ClientId {
            prefix: self.prefix,
            seq,
        }
    }
}

/// Sends `actions`, checking that every new order has a client id never used before.
fn send(
    m: &mut Market,
    actions: &[Action],
    ids: &mut HashSet<ClientId>,
    now: f64,
) -> Result<(), TestCaseError> {
    for action in actions {
        if let Action::Place { client_seq, .. } = action {
            let id = ClientId {
                prefix: m.prefix,
                seq: *client_seq,
            };
            prop_assert!(ids.insert(id), "client id {:?} reused", id);
        }
    }
    m.desk
        .send_to_paper(&mut m.sim, m.symbol, m.prefix, actions, now)
        .map_err(|err| TestCaseError::fail(format!("the venue refused an order: {err}")))
}

/// Takes the venue's responses and checks the desk's own books.
fn take_and_check(m: &mut Market, now: f64) -> Result<(), TestCaseError> {
    let mut fills_new = 0;
    let symbol = m.symbol;
    let prefix = m.prefix;
    let mut foreign = None;
    m.desk
        .take_from_paper(&mut m.sim, prefix, now, |event, new, _| {
            if event.client_id().prefix != prefix {
                foreign = Some(event.client_id());
            }
            if new && event.fill_fields().is_some() {
                fills_new += 1;
            }
        });
    prop_assert!(
        foreign.is_none(),
        "{} got an event for {:?}",
        symbol,
        foreign
    );
    m.fills_new += fills_new;
    let desk = &m.desk;
    prop_assert!(desk.orders().len() <= desk.config().max_open_orders);
    for order in desk.orders() {
        prop_assert!(
            !order.status.terminal(),
            "{} is terminal but tracked",
            order.client_seq
        );
        prop_assert!(
            order.filled < order.qty,
            "{} is open with every lot filled ({} of {})",
            order.client_seq,
            order.filled,
            order.qty
        );
        // the venue learns of fills first: it never holds more than the desk thinks is open
        if let Some(resting) = m.sim.resting_qty(m.id(order.client_seq)) {
            prop_assert!(resting <= order.remaining());
        }
    }
    for side in [Side::Buy, Side::Sell] {
        let sum: Qty = desk
            .orders()
            .iter()
            .filter(|o| o.side == side)
            .map(|o| o.remaining())
            .sum();
        prop_assert_eq!(desk.working(side), sum);
    }
    Ok(())
}

/// With nothing in flight, every order the venue holds is tracked with exactly its open lots,
/// and every tracked order not pending a cancel rests there.
fn agree_exactly(m: &Market) -> Result<(), TestCaseError> {
    for order in m.desk.orders() {
        prop_assert_eq!(
            m.sim.resting_qty(m.id(order.client_seq)),
            Some(order.remaining()),
            "{}",
            order.client_seq
        );
    }
    for id in m.sim.open_orders(m.symbol) {
        prop_assert_eq!(id.prefix, m.prefix);
        prop_assert!(m.desk.order(id.seq).is_some(), "{:?} rests untracked", id);
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// Whatever the markets and the targets do: client ids are never reused, the venues never
    /// refuse what the desks send, tracked orders are live, never fully filled, never more
    /// than `max_open_orders`, and agree exactly with their venue whenever nothing is in
    /// flight; one symbol's trades fill only its own orders; every fill is reported new once;
    /// and once everything is cancelled and every response has arrived, neither the desks nor
    /// the venues hold an order.
    #[test]
    fn the_desks_and_the_venues_agree(
        (desk_cfg, paper_cfg) in config(),
        ops in prop::collection::vec(op(), 1..120),
    ) {
        let mut markets: Vec<Market> = SYMBOLS
            .iter()
            .zip(0..)
            .map(|(&symbol, prefix)| Market {
                symbol,
                prefix,
                desk: Desk::new(desk_cfg.clone(), format!("{symbol}-")).unwrap(),
                sim: PaperSim::new(paper_cfg.clone()).unwrap(),
                fills_new: 0,
            })
            .collect();
        let mut ids = HashSet::new();
        let mut actions = Vec::new();
        let mut now = 0.0;
        for m in &mut markets {
            m.sim.on_book([(99.99, 1.0)], [(100.01, 1.0)], now).unwrap();
        }
        let units = |lots: i64| lots as f64 * LOT;
        for op in ops {
            match op {
                Op::Book(k, b, bq, a, aq) => {
                    let bid = [((MID - b) as f64 * 0.01, units(bq))];
                    let ask = [((MID + a) as f64 * 0.01, units(aq))];
                    markets[k].sim.on_book(bid, ask, now).unwrap();
                }
                Op::Trade(k, buy, d, q) => {
                    let before: Vec<u64> = markets.iter().map(|m| m.sim.fills()).collect();
                    markets[k].sim.on_trade(Price(MID + d), Qty(q), buy, now).unwrap();
                    for (j, m) in markets.iter().enumerate() {
                        if j != k {
                            prop_assert_eq!(m.sim.fills(), before[j], "{}'s trade filled {}", SYMBOLS[k], m.symbol);
                        }
                    }
                }
                Op::Quote(k, b, a, levels, q) => {
                    let bids: Vec<_> = (0..levels as i64).map(|i| (Price(MID - b - i), Qty(q))).collect();
                    let asks: Vec<_> = (0..levels as i64).map(|i| (Price(MID + a + i), Qty(q))).collect();
                    actions.clear();
                    let m = &mut markets[k];
                    let lead = m.desk.lead_side(0);
                    m.desk.reconcile(&bids, &asks, MID as f64, now, lead, &mut no_gate, &mut actions).unwrap();
                    send(m, &actions, &mut ids, now)?;
                }
                Op::CancelAll(k) => {
                    actions.clear();
                    let m = &mut markets[k];
                    m.desk.cancel_all(now, &mut actions);
                    send(m, &actions, &mut ids, now)?;
                }
                Op::Wait(ms) => now += f64::from(ms) / 1000.0,
                Op::Settle => {
                    now += 1.0;
                    for m in &mut markets {
                        take_and_check(m, now)?;
                        agree_exactly(m)?;
                    }
                }
            }
            for m in &mut markets {
                take_and_check(m, now)?;
            }
        }
        // a cancel that overtook its order (random latencies) is answered "unknown order" and
        // the order rests: cancelling again finds it
        for _ in 0..3 {
            for m in &mut markets {
                actions.clear();
                m.desk.cancel_all(now, &mut actions);
                send(m, &actions, &mut ids, now)?;
            }
            now += 1.0;
            for m in &mut markets {
                take_and_check(m, now)?;
            }
        }
        for m in &mut markets {
            prop_assert!(m.desk.orders().is_empty(), "still tracked: {:?}", m.desk.orders());
            prop_assert_eq!(m.sim.open_orders(m.symbol).count(), 0);
            prop_assert_eq!(m.fills_new, m.sim.fills(), "{}: fills reported new", m.symbol);
        }
        let placed: u64 = markets.iter().map(|m| m.desk.placed).sum();
        prop_assert_eq!(placed, ids.len() as u64);
    }
}
