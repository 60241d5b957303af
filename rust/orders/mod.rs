//! Orders and their state machine; `desk` keeps the working orders of one symbol.
//!
//! Fills are never dropped: a fill on an order in any state (even one already cancelled, when a
//! fill raced the cancel) increases its filled quantity. The state only moves along allowed
//! transitions; events that arrive out of order (a fill before the ack, a late ack after the
//! fill or cancel) are absorbed instead of corrupting the state, and impossible ones are counted
//! as anomalies.

pub mod desk;
pub mod paper_link;
#[cfg(test)]
mod properties;

pub use crate::paper::Side;

/// Sizes within this of the order's size count as fully filled.
const FILLED_EPSILON: f64 = 1e-12;

/// Lifecycle of one order. The discriminants are the codes the Python layer maps to its
/// `OrderStatus` enum (same order).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Status {
    PendingNew = 0,
    Acked = 1,
    PartiallyFilled = 2,
    Filled = 3,
    PendingCancel = 4,
    Cancelled = 5,
    Rejected = 6,
    Expired = 7,
}

impl Status {
    /// Every status, in code order.
    pub const ALL: [Status; 8] = [
        Status::PendingNew,
        Status::Acked,
        Status::PartiallyFilled,
        Status::Filled,
        Status::PendingCancel,
        Status::Cancelled,
        Status::Rejected,
        Status::Expired,
    ];

    /// True for states an order never leaves.
    pub fn terminal(self) -> bool {
        matches!(
            self,
            Status::Filled | Status::Cancelled | Status::Rejected | Status::Expired
        )
    }

    /// The status with code `code` (its discriminant).
    pub fn from_code(code: u8) -> Option<Status> {
        Status::ALL.get(usize::from(code)).copied()
    }
}

/// What a venue said about an order (the order's client id and the time come alongside).
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Update<'a> {
    /// The venue accepted the order (an empty `venue_id` keeps the one known).
    Acked { venue_id: &'a str },
    /// The venue refused the order.
    Rejected,
    /// An execution of `qty`; `fill_id` is unique per venue (replays are idempotent).
    Filled { fill_id: &'a str, qty: f64 },
    /// The order is off the book (requested or unsolicited).
    Cancelled,
    /// A cancel failed (usually: the order had already filled).
    CancelRejected,
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
            Update::Expired => "OrderExpired",
        }
    }
}

/// One order and its state; [`Order::apply`] is the state machine.
#[derive(Clone, Debug, PartialEq)]
pub struct Order {
    pub client_id: String,
    pub side: Side,
    pub price_ticks: i64,
    pub qty: f64,
    pub filled: f64,
    pub created: f64,
    pub updated: f64,
    pub status: Status,
    pub venue_id: String,
    /// Out-of-order or impossible events absorbed.
    pub anomalies: u32,
}

impl Order {
    /// A new order, pending at the venue since `created`.
    pub fn new(client_id: String, side: Side, price_ticks: i64, qty: f64, created: f64) -> Self {
        Order {
            client_id,
            side,
            price_ticks,
            qty,
            filled: 0.0,
            created,
            updated: created,
            status: Status::PendingNew,
            venue_id: String::new(),
            anomalies: 0,
        }
    }

    /// Quantity still open (0 once terminal).
    pub fn remaining(&self) -> f64 {
        if self.status.terminal() {
            0.0
        } else {
            (self.qty - self.filled).max(0.0)
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
                if status.terminal() {
                    return self.anomaly(); // e.g. a fill that raced a cancel: money moved, keep it
                }
                if self.filled >= self.qty - FILLED_EPSILON {
                    self.status = Status::Filled;
                } else if status != Status::PendingCancel {
                    self.status = Status::PartiallyFilled;
                }
                true
            }
            Update::Rejected => {
                if matches!(status, Status::PendingNew | Status::PendingCancel)
                    && self.filled == 0.0
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
                self.status = if self.filled != 0.0 {
                    Status::PartiallyFilled
                } else {
                    Status::Acked
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

    fn fill(qty: f64) -> Update<'static> {
        Update::Filled { fill_id: "f", qty }
    }

    /// Applies `updates` to a fresh 1.0 buy, requesting a cancel before update `cancel_at`.
    fn run(updates: &[Update<'_>], cancel_at: Option<usize>) -> Order {
        let mut order = Order::new("c1".into(), Side::Buy, 100, 1.0, 0.0);
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
            (&[ACK, fill(0.4)], None, PartiallyFilled),
            (&[ACK, fill(0.4), fill(0.6)], None, Filled),
            (&[ACK], Some(1), PendingCancel),
            (&[ACK, Update::Cancelled], Some(1), Cancelled),
            (&[ACK, fill(0.4), Update::Cancelled], Some(2), Cancelled),
            (&[ACK, fill(1.0)], Some(1), Filled), // filled while the cancel was in flight
            (&[ACK, fill(0.4)], Some(1), PendingCancel), // partial fill keeps the cancel
            (&[ACK, Update::CancelRejected], Some(1), Acked),
            (
                &[ACK, fill(0.5), Update::CancelRejected],
                Some(2),
                PartiallyFilled,
            ),
            (&[ACK, Update::Expired], None, Expired),
            (&[ACK, fill(0.5), Update::Expired], None, Expired),
            (&[ACK, Update::Cancelled], None, Cancelled), // unsolicited cancel
            (&[Update::Rejected], Some(0), Rejected),     // rejected while a cancel was asked
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
        let order = run(&[fill(0.4), ACK], None);
        assert_eq!(order.status, Status::PartiallyFilled);
        assert_eq!((order.venue_id.as_str(), order.anomalies), ("v1", 0));
        let order = run(&[fill(1.0), ACK], None);
        assert_eq!((order.status, order.remaining()), (Status::Filled, 0.0));
        let mut order = run(&[Update::Cancelled], Some(0));
        assert!(!order.apply(3.0, &ACK));
        assert_eq!((order.status, order.anomalies), (Status::Cancelled, 0));
    }

    #[test]
    fn a_fill_after_the_end_is_kept_and_counted() {
        let order = run(&[ACK, Update::Cancelled, fill(0.3)], None);
        assert_eq!(order.status, Status::Cancelled);
        assert_eq!((order.filled, order.anomalies), (0.3, 1));
    }

    #[test]
    fn impossible_updates_leave_a_terminal_state_alone() {
        let mut order = run(&[ACK, fill(1.0), Update::Rejected, Update::Cancelled], None);
        assert_eq!((order.status, order.anomalies), (Status::Filled, 2));
        assert!(!order.request_cancel(4.0));
        assert!(!order.apply(5.0, &Update::CancelRejected));
        assert_eq!(order.anomalies, 3);
    }

    #[test]
    fn updated_only_moves_forward_and_status_codes_round_trip() {
        let mut order = run(&[ACK], None);
        order.apply(1.5, &fill(0.1));
        assert_eq!(order.updated, 2.0);
        for status in Status::ALL {
            assert_eq!(Status::from_code(status as u8), Some(status));
        }
        assert_eq!(Status::from_code(8), None);
    }
}
