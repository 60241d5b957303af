//! Property tests of the order desk trading on the paper venue: random books, trades, targets
//! and time steps; the desk's books stay consistent with what it sent and with the venue.

use std::collections::HashSet;

use proptest::prelude::*;

use super::desk::{no_gate, Action, Desk, DeskConfig};
use super::Side;
use crate::paper::{PaperConfig, PaperSim};

const MID: i64 = 10_000;
const SYMBOL: &str = "X";

#[derive(Clone, Debug)]
enum Op {
    /// a book around the mid: (bid ticks below, bid size, ask ticks above, ask size)
    Book(i64, u32, i64, u32),
    /// a trade: (buyer aggressor, ticks from the mid, qty in hundredths)
    Trade(bool, i64, u32),
    /// targets: (bid ticks below the mid, ask ticks above, levels per side, qty in hundredths)
    Quote(i64, i64, usize, u32),
    /// cancel every working order
    CancelAll,
    /// let time pass (milliseconds)
    Wait(u32),
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        2 => (0i64..3, 0u32..500, 1i64..4, 0u32..500).prop_map(|(a, b, c, d)| Op::Book(a, b, c, d)),
        2 => (any::<bool>(), -4i64..5, 1u32..400).prop_map(|(b, d, q)| Op::Trade(b, d, q)),
        4 => (-1i64..4, -1i64..4, 0usize..4, 0u32..300).prop_map(|(b, a, n, q)| Op::Quote(b, a, n, q)),
        1 => Just(Op::CancelAll),
        2 => (0u32..15).prop_map(Op::Wait),
    ]
}

fn config() -> impl Strategy<Value = (DeskConfig, PaperConfig)> {
    (0u8..3, 0u8..4, 0u8..3, 0u8..3).prop_map(|(tol, age, latency, cap)| {
        let desk = DeskConfig {
            tolerance_ticks: f64::from(tol),
            tolerance_bps: 0.0,
            size_tolerance: 0.25,
            max_order_age_s: [0.004, 0.02, 1.0, 30.0][usize::from(age)],
            recent_fill_ids: 100,
            max_open_orders: [2, 5, 200][usize::from(cap)],
        };
        let ms = f64::from(latency) * 0.002;
        let paper = PaperConfig {
            entry_latency_s: ms,
            cancel_latency_s: 2.0 * ms,
            response_latency_s: ms,
            ..PaperConfig::default()
        };
        (desk, paper)
    })
}

/// Sends `actions`, checking that every new order has a client id never used before.
fn send(
    desk: &mut Desk,
    sim: &mut PaperSim,
    actions: &[Action],
    ids: &mut HashSet<String>,
    now: f64,
) -> Result<(), TestCaseError> {
    for action in actions {
        if let Action::Place { client_id, .. } = action {
            prop_assert!(
                ids.insert(client_id.clone()),
                "client id {} reused",
                client_id
            );
        }
    }
    desk.send_to_paper(sim, SYMBOL, actions, now)
        .map_err(|err| TestCaseError::fail(format!("the venue refused an order: {err}")))
}

/// Takes the venue's responses and checks the desk's own books.
fn take_and_check(desk: &mut Desk, sim: &mut PaperSim, now: f64) -> Result<(), TestCaseError> {
    let mut fills_new = 0u32;
    desk.take_from_paper(sim, now, |event, new, _| {
        if new && event.fill_fields().is_some() {
            fills_new += 1;
        }
    });
    for order in desk.orders() {
        prop_assert!(
            !order.status.terminal(),
            "{} is terminal but tracked",
            order.client_id
        );
        prop_assert!(
            order.filled <= order.qty + 1e-9,
            "{} overfilled",
            order.client_id
        );
    }
    for side in [Side::Buy, Side::Sell] {
        let sum: f64 = desk
            .orders()
            .iter()
            .filter(|o| o.side == side)
            .map(|o| o.remaining())
            .sum();
        prop_assert!((desk.working(side) - sum).abs() < 1e-9);
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// Whatever the market and the targets do: client ids are never reused, the venue never
    /// refuses what the desk sends, tracked orders are live, never overfilled and never more
    /// than `max_open_orders`, and once
    /// everything is cancelled and every response has arrived, neither the desk nor the venue
    /// holds an order (nothing is lost or orphaned on either side).
    #[test]
    fn the_desk_and_the_venue_agree(
        (desk_cfg, paper_cfg) in config(),
        ops in prop::collection::vec(op(), 1..120),
    ) {
        let mut desk = Desk::new(desk_cfg, "mm-X-".into()).unwrap();
        let mut sim = PaperSim::new(paper_cfg).unwrap();
        let mut ids = HashSet::new();
        let mut actions = Vec::new();
        let mut now = 0.0;
        sim.on_book([(99.99, 1.0)], [(100.01, 1.0)], now).unwrap();
        for op in ops {
            match op {
                Op::Book(b, bq, a, aq) => {
                    let bid = [((MID - b) as f64 * 0.01, f64::from(bq) / 100.0)];
                    let ask = [((MID + a) as f64 * 0.01, f64::from(aq) / 100.0)];
                    sim.on_book(bid, ask, now).unwrap();
                }
                Op::Trade(buy, d, q) => sim.on_trade(MID + d, f64::from(q) / 100.0, buy, now).unwrap(),
                Op::Quote(b, a, levels, q) => {
                    let qty = f64::from(q) / 100.0;
                    let bids: Vec<_> = (0..levels as i64).map(|i| (MID - b - i, qty)).collect();
                    let asks: Vec<_> = (0..levels as i64).map(|i| (MID + a + i, qty)).collect();
                    actions.clear();
                    desk.reconcile(&bids, &asks, MID as f64, now, &mut no_gate, &mut actions).unwrap();
                    send(&mut desk, &mut sim, &actions, &mut ids, now)?;
                }
                Op::CancelAll => {
                    actions.clear();
                    desk.cancel_all(now, &mut actions);
                    send(&mut desk, &mut sim, &actions, &mut ids, now)?;
                }
                Op::Wait(ms) => now += f64::from(ms) / 1000.0,
            }
            take_and_check(&mut desk, &mut sim, now)?;
        }
        actions.clear();
        desk.cancel_all(now, &mut actions);
        send(&mut desk, &mut sim, &actions, &mut ids, now)?;
        now += 1.0;
        sim.advance(now);
        take_and_check(&mut desk, &mut sim, now)?;
        prop_assert!(desk.orders().is_empty(), "still tracked: {:?}", desk.orders());
        prop_assert_eq!(sim.open_orders(SYMBOL).count(), 0);
        let sent_places = ids.len() as u64;
        prop_assert_eq!(desk.placed, sent_places);
    }
}
