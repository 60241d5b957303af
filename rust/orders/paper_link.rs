//! A desk trading on the paper venue without leaving Rust: its orders and cancels go to the
//! simulator, the simulator's responses come back as updates.

use super::desk::{Action, Desk};
use super::{Order, Update};
use crate::arg_error::ArgError;
use crate::model::ClientId;
use crate::paper::{Event, NewOrder, PaperSim};

impl<'a> From<&'a Event> for Update<'a> {
    fn from(event: &'a Event) -> Self {
        match event {
            Event::Acked { .. } => Update::Acked { venue_id: "" },
            Event::Rejected { .. } => Update::Rejected,
            Event::Filled { fill_id, qty, .. } => Update::Filled {
                fill_id: *fill_id,
                qty: *qty,
            },
            Event::Cancelled { .. } => Update::Cancelled,
            Event::CancelRejected { .. } => Update::CancelRejected,
            Event::Amended { qty, .. } => Update::Amended { qty: *qty },
            Event::AmendRejected { .. } => Update::AmendRejected,
        }
    }
}

impl Desk {
    /// Sends `actions` (post-only orders for `symbol`, cancels, amends) to `sim` at `now`; the desk's
    /// client ids there are `prefix` (the desk's prefix as the venue's table knows it) and
    /// the sequence. An order the
    /// simulator refuses is marked rejected; every action is tried and the first refusal is
    /// returned. A simulator counting in another lot than the desk's is refused before anything
    /// is sent (a size would mean something else there).
    pub fn send_to_paper(
        &mut self,
        sim: &mut PaperSim,
        symbol: &str,
        prefix: u32,
        actions: &[Action],
        now: f64,
    ) -> Result<(), ArgError> {
        if sim.lot() != self.lot() {
            let err = ArgError::new(
                "lot_size",
                format!(
                    "the desk counts lots of {}, the paper venue of {}",
                    self.lot().size(),
                    sim.lot().size()
                ),
            );
            return Err(self.refuse(err));
        }
        let mut first_error = None;
        for action in actions {
            let sent = match action {
                Action::Place {
                    client_seq,
                    side,
                    price_ticks,
                    qty,
                } => {
                    let order = NewOrder {
                        client_id: ClientId {
                            prefix,
                            seq: *client_seq,
                        },
                        symbol: symbol.to_owned(),
                        side: *side,
                        price_ticks: *price_ticks,
                        qty: *qty,
                        post_only: true,
                    };
                    sim.submit(order, now).inspect_err(|_| {
                        self.on_update(Some(*client_seq), now, &Update::Rejected, |_, _| {});
                    })
                }
                Action::Cancel { client_seq } => sim.cancel(
                    ClientId {
                        prefix,
                        seq: *client_seq,
                    },
                    now,
                ),
                Action::Amend { client_seq, qty } => sim.amend(
                    ClientId {
                        prefix,
                        seq: *client_seq,
                    },
                    *qty,
                    now,
                ),
            };
            if let Err(err) = sent {
                first_error.get_or_insert(err);
            }
        }
        first_error.map_or(Ok(()), Err)
    }

    /// Applies every response of `sim` due by `now`, in order (responses about ids of another
    /// prefix than `prefix` are not this desk's). `seen(event, new, order)` gets
    /// each: `new` false for a repeated fill, `order` the tracked order after it (None for an
    /// order the desk does not track, whose fills still count).
    pub fn take_from_paper(
        &mut self,
        sim: &mut PaperSim,
        prefix: u32,
        now: f64,
        mut seen: impl FnMut(&Event, bool, Option<&Order>),
    ) {
        if !sim.has_due(now) {
            return;
        }
        while let Some(event) = sim.pop_ready(now) {
            let mut reported = false;
            let update = Update::from(&event);
            let id = event.client_id();
            let seq = (id.prefix == prefix).then_some(id.seq);
            let outcome = self.on_update(seq, event.ts(), &update, |order, new| {
                reported = true;
                seen(&event, new, Some(order));
            });
            if !reported {
                seen(&event, outcome.new, None);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::orders::desk::{no_gate, DeskConfig};
    use crate::orders::{Price, Qty, Side, Status};
    use crate::paper::PaperConfig;

    #[test]
    fn orders_rest_fill_and_leave_the_desk() {
        let cfg = DeskConfig {
            lot_size: 0.1,
            tolerance_ticks: 0.0,
            tolerance_bps: 0.0,
            size_tolerance: 0.25,
            max_order_age_s: 30.0,
            recent_fill_ids: 100,
            max_open_orders: 200,
            can_amend: false,
        };
        let mut desk = Desk::new(cfg, "mm-X-".into()).unwrap();
        let mut sim = PaperSim::new(PaperConfig {
            lot_size: 0.1,
            ..PaperConfig::default()
        })
        .unwrap();
        sim.on_book([(1.00, 5.0)], [(1.02, 5.0)], 0.0).unwrap();
        let mut actions = Vec::new();
        desk.reconcile(
            &[(Price(100), Qty(10))],
            &[(Price(101), Qty(10)), (Price(99), Qty(10))],
            101.0,
            0.0,
            Side::Buy,
            &mut no_gate,
            &mut actions,
        )
        .unwrap();
        desk.send_to_paper(&mut sim, "X", 0, &actions, 0.0).unwrap();
        sim.on_trade(Price(100), Qty(100), false, 0.1).unwrap(); // sells through our bid's queue
        let mut seen = Vec::new();
        desk.take_from_paper(&mut sim, 0, 1.0, |event, new, order| {
            seen.push((event.client_id().seq, new, order.map(|o| o.status)));
        });
        let bid = (1, true);
        assert_eq!(seen[0], (bid.0, bid.1, Some(Status::Acked)));
        // asks go out best first: the post-only one at 99 crosses the market's bid, rejected
        assert!(seen.contains(&(2, true, Some(Status::Rejected))));
        assert!(seen.contains(&(bid.0, bid.1, Some(Status::Filled))));
        let left: Vec<u64> = desk.orders().iter().map(|o| o.client_seq).collect();
        assert_eq!(left, [3]);
        // a venue counting in other lots is refused before anything is sent
        let mut other = PaperSim::new(PaperConfig::default()).unwrap();
        let err = desk.send_to_paper(&mut other, "X", 0, &actions, 2.0);
        assert_eq!(err.unwrap_err().arg, "lot_size");
        assert_eq!(desk.refused, 1);
        assert_eq!(other.open_orders("X").count(), 0);
    }
}
