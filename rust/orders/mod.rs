//! Orders and their state machine; `desk` keeps the working orders of one symbol.
//!
//! Fills are never dropped: a fill on an order in any state (even one already cancelled, when a
//! fill raced the cancel) increases its filled quantity. The state only moves along allowed
//! transitions; events that arrive out of order (a fill before the ack, a late ack after the
//! fill or cancel) are absorbed instead of corrupting the state, and impossible ones are counted
//! as anomalies.
//!
//! An amend only ever reduces an order's size (venues keep the queue position for that): the
//! order keeps its status while the amend is in flight (`amend_to`), counts its old size as
//! working until the venue confirms, and takes the venue's new size on the confirmation.

pub mod desk;
pub mod paper_link;
#[cfg(test)]
mod properties;

pub use crate::model::{Price, Qty, Side, Status};

/// What a venue said about an order (the order's client id and the time come alongside).
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Update<'a> {
    /// The venue accepted the order (an empty `venue_id` keeps the one known).
    Acked { venue_id: &'a str },
    /// The venue refused the order.
    Rejected,
    /// An execution of `qty` lots; `fill_id` is unique per venue (replays are idempotent): an
    /// integer key (the paper venue's fill number, or a venue's fill id mapped at the edge).
    Filled { fill_id: u64, qty: Qty },
    /// The order is off the book (requested or unsolicited).
    Cancelled,
    /// A cancel failed (usually: the order had already filled).
    CancelRejected,
    /// The venue reduced the order to `qty` lots in total (filled part included), keeping its
    /// queue position.
    Amended { qty: Qty },
    /// An amend failed (usually: the order had filled or left the book meanwhile).
    AmendRejected,
    /// The venue expired the order (time in force).
    Expired,
}

impl Update<'_> {
    /// The event's name as the journal records it.
    pub fn kind(&self) -> &'static str {
        match self {
            Update::Acked { .. } => "OrderAcked",
            Update::Rejected => "OrderRejected",
            Update::Filled { .. } => "OrderFilled",
            Update::Cancelled => "OrderCancelled",
            Update::CancelRejected => "CancelRejected",
            Update::Amended { .. } => "OrderAmended",
            Update::AmendRejected => "AmendRejected",
            Update::Expired => "OrderExpired",
        }
    }
}

/// One order and its state; [`Order::apply`] is the state machine.
#[derive(Clone, Debug, PartialEq)]
pub struct Order {
    /// The desk's sequence number: with the desk's prefix, the client id (`{prefix}{seq}`,
    /// formatted at the edge).
    pub client_seq: u64,
    pub side: Side,
    pub price_ticks: Price,
    /// Size and filled size, in lots: the order is filled when `filled == qty`.
    pub qty: Qty,
    pub filled: Qty,
    pub created: f64,
    pub updated: f64,
    pub status: Status,
    pub venue_id: String,
    /// Out-of-order or impossible events absorbed.
    pub anomalies: u32,
    /// The venue acknowledged the order (an ack or a fill came): a cancel refused before that
    /// leaves it pending new, not acked.
    pub acked: bool,
    /// The total size (filled part included) an amend in flight asks for.
    pub amend_to: Option<Qty>,
}

impl Order {
    /// A new order, pending at the venue since `created`.
    pub fn new(client_seq: u64, side: Side, price_ticks: Price, qty: Qty, created: f64) -> Self {
        Order {
            client_seq,
            side,
            price_ticks,
            qty,
            filled: Qty::ZERO,
            created,
            updated: created,
            status: Status::PendingNew,
            venue_id: String::new(),
            anomalies: 0,
            acked: false,
            amend_to: None,
        }
    }

    /// Quantity still open (0 once terminal).
    pub fn remaining(&self) -> Qty {
        if self.status.terminal() {
            Qty::ZERO
        } else {
            self.qty.saturating_sub(self.filled)
        }
    }

    /// Moves to pending cancel; false when there is nothing left to cancel.
    pub fn request_cancel(&mut self, ts: f64) -> bool {
        if self.status.terminal() || self.status == Status::PendingCancel {
            return false;
        }
        self.status = Status::PendingCancel;
        self.updated = ts;
        true
    }

    /// Quantity open once the amend in flight (if any) is confirmed.
    pub fn remaining_after_amend(&self) -> Qty {
        match self.amend_to {
            Some(qty) if !self.status.terminal() => qty.saturating_sub(self.filled),
            _ => self.remaining(),
        }
    }

    /// True when the order can be amended to `qty` lots in total (filled part included): it
    /// is live and acked, no cancel or amend is in flight, and `qty` is below its size and
    /// above what has filled.
    pub fn amendable(&self, qty: Qty) -> bool {
        let live = matches!(self.status, Status::Acked | Status::PartiallyFilled);
        live && self.amend_to.is_none() && qty < self.qty && qty > self.filled
    }

    /// Asks to reduce the order to `qty` lots in total; false, and nothing changes, unless it
    /// is [`Order::amendable`] to it.
    pub fn request_amend(&mut self, qty: Qty, ts: f64) -> bool {
        if !self.amendable(qty) {
            return false;
        }
        self.amend_to = Some(qty);
        self.updated = ts;
        true
    }

    /// Applies a venue update at `ts`; true when the state or fills changed as expected.
    ///
    /// False means the update changed no state (a late ack) or was impossible for the state
    /// (counted in `anomalies`); a fill still counts in `filled`.
    pub fn apply(&mut self, ts: f64, update: &Update<'_>) -> bool {
        if ts > self.updated {
            self.updated = ts;
        }
        let status = self.status;
        match *update {
            Update::Acked { venue_id } => {
                if !venue_id.is_empty() {
                    venue_id.clone_into(&mut self.venue_id);
                }
                self.acked = true;
                if status == Status::PendingNew {
                    self.status = Status::Acked;
                    return true;
                }
                false // a late ack (after a fill or cancel) changes nothing
            }
            Update::Cancelled => self.end(Status::Cancelled),
            Update::Expired => self.end(Status::Expired),
            Update::Filled { qty, .. } => {
                self.filled += qty;
                self.acked = true;
                if status.terminal() {
                    return self.anomaly(); // e.g. a fill that raced a cancel: money moved, keep it
                }
                if self.filled >= self.qty {
                    self.status = Status::Filled;
                } else if status != Status::PendingCancel {
                    self.status = Status::PartiallyFilled;
                }
                true
            }
            Update::Amended { qty } => {
                self.amend_to = None;
                if status.terminal() {
                    return self.anomaly(); // the venue amended an order that had ended
                }
                self.qty = qty;
                if self.filled >= self.qty {
                    self.status = Status::Filled;
                }
                true
            }
            Update::AmendRejected => {
                let expected = self.amend_to.take().is_some();
                // the order filled or left the book meanwhile: its own update says so
                expected || self.anomaly()
            }
            Update::Rejected => {
                if matches!(status, Status::PendingNew | Status::PendingCancel)
                    && self.filled == Qty::ZERO
                {
                    self.status = Status::Rejected;
                    return true;
                }
                self.anomaly()
            }
            Update::CancelRejected => {
                if status != Status::PendingCancel {
                    return self.anomaly();
                }
                self.status = if self.filled.is_positive() {
                    Status::PartiallyFilled
                } else if self.acked {
                    Status::Acked
                } else {
                    Status::PendingNew // the cancel overtook the order: it may still be refused
                };
                true
            }
        }
    }

    /// Moves a live order to the terminal `status`; an anomaly when it already ended.
    fn end(&mut self, status: Status) -> bool {
        if self.status.terminal() {
            return self.anomaly();
        }
        self.status = status;
        true
    }

    fn anomaly(&mut self) -> bool {
        self.anomalies += 1;
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ACK: Update<'static> = Update::Acked { venue_id: "v1" };

    /// A fill of `tenths` of the 10-lot order.
    fn fill(tenths: i64) -> Update<'static> {
        Update::Filled {
            fill_id: 1,
            qty: Qty(tenths),
        }
    }

    /// Applies `updates` to a fresh 10-lot buy, requesting a cancel before update `cancel_at`.
    fn run(updates: &[Update<'_>], cancel_at: Option<usize>) -> Order {
        let mut order = Order::new(1, Side::Buy, Price(100), Qty(10), 0.0);
        for (i, update) in updates.iter().enumerate() {
            if cancel_at == Some(i) {
                assert!(order.request_cancel(1.0));
            }
            order.apply(2.0, update);
        }
        if cancel_at == Some(updates.len()) {
            assert!(order.request_cancel(1.0));
        }
        order
    }

    #[test]
    fn every_transition() {
        use Status::*;
        let cases: &[(&[Update], Option<usize>, Status)] = &[
            (&[ACK], None, Acked),
            (&[Update::Rejected], None, Rejected),
            (&[ACK, fill(4)], None, PartiallyFilled),
            (&[ACK, fill(4), fill(6)], None, Filled),
            (&[ACK], Some(1), PendingCancel),
            (&[ACK, Update::Cancelled], Some(1), Cancelled),
            (&[ACK, fill(4), Update::Cancelled], Some(2), Cancelled),
            (&[ACK, fill(10)], Some(1), Filled), // filled while the cancel was in flight
            (&[ACK, fill(4)], Some(1), PendingCancel), // partial fill keeps the cancel
            (&[ACK, Update::CancelRejected], Some(1), Acked),
            (
                &[ACK, fill(5), Update::CancelRejected],
                Some(2),
                PartiallyFilled,
            ),
            (&[ACK, Update::Expired], None, Expired),
            (&[ACK, fill(5), Update::Expired], None, Expired),
            (&[ACK, Update::Cancelled], None, Cancelled), // unsolicited cancel
            (&[Update::Rejected], Some(0), Rejected),     // rejected while a cancel was asked
            (&[Update::CancelRejected], Some(0), PendingNew), // the cancel overtook the order
            (
                &[Update::CancelRejected, Update::Rejected],
                Some(0),
                Rejected,
            ),
            (&[Update::CancelRejected, ACK], Some(0), Acked),
        ];
        for (updates, cancel_at, expected) in cases {
            let order = run(updates, *cancel_at);
            assert_eq!(
                order.status, *expected,
                "{updates:?} cancel at {cancel_at:?}"
            );
            assert_eq!(order.anomalies, 0, "{updates:?}");
        }
    }

    #[test]
    fn out_of_order_updates_are_absorbed() {
        let order = run(&[fill(4), ACK], None);
        assert_eq!(order.status, Status::PartiallyFilled);
        assert_eq!((order.venue_id.as_str(), order.anomalies), ("v1", 0));
        let order = run(&[fill(10), ACK], None);
        assert_eq!(
            (order.status, order.remaining()),
            (Status::Filled, Qty::ZERO)
        );
        let mut order = run(&[Update::Cancelled], Some(0));
        assert!(!order.apply(3.0, &ACK));
        assert_eq!((order.status, order.anomalies), (Status::Cancelled, 0));
    }

    #[test]
    fn a_fill_after_the_end_is_kept_and_counted() {
        let order = run(&[ACK, Update::Cancelled, fill(3)], None);
        assert_eq!(order.status, Status::Cancelled);
        assert_eq!((order.filled, order.anomalies), (Qty(3), 1));
    }

    #[test]
    fn impossible_updates_leave_a_terminal_state_alone() {
        let mut order = run(&[ACK, fill(10), Update::Rejected, Update::Cancelled], None);
        assert_eq!((order.status, order.anomalies), (Status::Filled, 2));
        assert!(!order.request_cancel(4.0));
        assert!(!order.apply(5.0, &Update::CancelRejected));
        assert_eq!(order.anomalies, 3);
    }

    #[test]
    fn updated_only_moves_forward() {
        let mut order = run(&[ACK], None);
        order.apply(1.5, &fill(1));
        assert_eq!(order.updated, 2.0);
    }
}
