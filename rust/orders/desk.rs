//! The order desk: the working orders of one symbol, kept close to the target quotes.
//!
//! Each [`Desk::reconcile`] diffs the targets against working orders. A working order is kept
//! while its price is within the tolerance (ticks or bps, whichever is wider), its open size
//! within `size_tolerance` of the target and its age under `max_order_age_s`: this hysteresis
//! stops churn. An order at the right price whose open size is too large is amended down to
//! the target when the venue can amend (`can_amend`: reducing a size keeps the queue position
//! on real venues), and cancelled and replaced otherwise. Unmatched orders are cancelled first,
//! then amends go out, then missing targets are placed through the risk gate, which may shrink
//! or veto them (it sees the working size, pending cancels and amends at their old size
//! included). What to send is written to an [`Action`] list; the caller routes it to the venue.

use std::collections::{HashSet, VecDeque};

use super::{Order, Price, Qty, Side, Status, Update};
use crate::arg_error::{non_negative, positive, ArgError};
use crate::model::LotSize;

/// A target quote: price in ticks, size in lots.
pub type Target = (Price, Qty);

/// Requote hysteresis and the memory for duplicate fills.
#[derive(Clone, Debug, PartialEq)]
pub struct DeskConfig {
    /// The instrument's lot: every size of the desk is a whole number of them.
    pub lot_size: f64,
    pub tolerance_ticks: f64,
    /// Tolerance in bps of the fair value (0 for none).
    pub tolerance_bps: f64,
    /// Largest relative difference between an order's open size and its target's size.
    pub size_tolerance: f64,
    pub max_order_age_s: f64,
    /// How many recent fill ids are remembered to drop duplicates.
    pub recent_fill_ids: usize,
    /// Orders tracked at most (pending cancels included): beyond it new targets are vetoed,
    /// so a venue that stops answering cannot make requotes pile orders up without end.
    pub max_open_orders: usize,
    /// The venue can reduce an order's size in place ([`Action::Amend`]); without it a size
    /// that is too large is cancelled and replaced.
    pub can_amend: bool,
}

impl DeskConfig {
    /// Checks every value: tolerances finite and >= 0, the age finite and > 0.
    pub fn validate(&self) -> Result<(), ArgError> {
        LotSize::new(self.lot_size)?;
        non_negative(&[
            ("tolerance_ticks", self.tolerance_ticks),
            ("tolerance_bps", self.tolerance_bps),
            ("size_tolerance", self.size_tolerance),
        ])?;
        positive(&[("max_order_age_s", self.max_order_age_s)])?;
        if self.recent_fill_ids == 0 {
            return Err(ArgError::new("recent_fill_ids", "must be >= 1, got 0"));
        }
        if self.max_open_orders == 0 {
            return Err(ArgError::new("max_open_orders", "must be >= 1, got 0"));
        }
        Ok(())
    }
}

/// Something to send to the venue.
#[derive(Clone, Debug, PartialEq)]
pub enum Action {
    /// A new post-only limit order.
    Place {
        client_seq: u64,
        side: Side,
        price_ticks: Price,
        qty: Qty,
    },
    /// A cancel of a working order.
    Cancel { client_seq: u64 },
    /// A reduction of a working order to `qty` lots in total (its filled part included), as
    /// venues amend: the queue position is kept.
    Amend { client_seq: u64, qty: Qty },
}

/// The gate of a desk without risk checks: every size passes.
pub fn no_gate(_: Side, _: Price, qty: Qty, _: Qty, _: f64) -> Result<Qty, ArgError> {
    Ok(qty)
}

/// What [`Desk::on_update`] found.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Outcome {
    /// The order is one of ours that is still tracked.
    pub known: bool,
    /// False for a duplicate fill (already applied): nothing changed.
    pub new: bool,
}

/// Working orders of one symbol; terminal orders leave it.
#[derive(Debug)]
pub struct Desk {
    cfg: DeskConfig,
    lot: LotSize,
    /// The side that went first in the last placement while flat (sides alternate then).
    last_lead: Side,
    id_prefix: String,
    next_seq: u64,
    /// Active orders in the order they were placed.
    orders: Vec<Order>,
    fill_ids: HashSet<u64>,
    fill_order: VecDeque<u64>,
    /// The last targets reconciled and their tolerance: the same again needs no diff.
    last_bids: Vec<Target>,
    last_asks: Vec<Target>,
    last_tol: f64,
    changed: bool,
    /// When the oldest kept order reaches the maximum age.
    expiry: f64,
    /// Orders placed, cancels sent, amends sent, targets vetoed, anomalies seen.
    pub placed: u64,
    pub cancels: u64,
    pub amends: u64,
    pub vetoed: u64,
    pub anomalies: u64,
    /// Inputs refused (NaN, ±inf, negative): nothing changed for them.
    pub refused: u64,
    // scratch, reused across calls
    free_bids: Vec<usize>,
    free_asks: Vec<usize>,
    drop: Vec<usize>,
    /// Orders to amend and their new total size.
    amend: Vec<(usize, Qty)>,
}

/// A side's targets and orders after pairing.
struct Pairing {
    missing: Vec<Target>,
    oldest: f64,
}

impl Desk {
    /// An empty desk whose client ids are `id_prefix` followed by 1, 2, …
    pub fn new(cfg: DeskConfig, id_prefix: String) -> Result<Self, ArgError> {
        cfg.validate()?;
        Ok(Desk {
            lot: LotSize::new(cfg.lot_size)?,
            last_lead: Side::Sell,
            cfg,
            id_prefix,
            next_seq: 1,
            orders: Vec::new(),
            fill_ids: HashSet::new(),
            fill_order: VecDeque::new(),
            last_bids: Vec::new(),
            last_asks: Vec::new(),
            last_tol: f64::NAN,
            changed: true,
            expiry: f64::INFINITY,
            placed: 0,
            cancels: 0,
            amends: 0,
            vetoed: 0,
            anomalies: 0,
            refused: 0,
            free_bids: Vec::new(),
            free_asks: Vec::new(),
            drop: Vec::new(),
            amend: Vec::new(),
        })
    }

    /// The configuration.
    pub fn config(&self) -> &DeskConfig {
        &self.cfg
    }

    /// The instrument's lot (sizes at the edges convert through it).
    pub fn lot(&self) -> &LotSize {
        &self.lot
    }

    /// Counts an input refused at an edge and passes the error on.
    pub fn refuse(&mut self, err: ArgError) -> ArgError {
        self.refused += 1;
        err
    }

    /// The side to place first: the one that reduces a position of `position_lots` (signed),
    /// or, when flat, the other side than last time. When the order-rate bucket runs dry the
    /// first placements get the tokens, so a fixed order would starve one side.
    pub fn lead_side(&mut self, position_lots: i64) -> Side {
        let lead = match position_lots.signum() {
            1 => Side::Sell,
            -1 => Side::Buy,
            _ => match self.last_lead {
                Side::Buy => Side::Sell,
                Side::Sell => Side::Buy,
            },
        };
        self.last_lead = lead;
        lead
    }

    /// Active orders, in the order they were placed.
    pub fn orders(&self) -> &[Order] {
        &self.orders
    }

    /// The active order with the client sequence `seq`.
    pub fn order(&self, seq: u64) -> Option<&Order> {
        self.orders.iter().find(|o| o.client_seq == seq)
    }

    /// The prefix of this desk's client ids (`{prefix}{seq}`, formatted at the edge).
    pub fn id_prefix(&self) -> &str {
        &self.id_prefix
    }

    /// A fresh client sequence number.
    pub fn next_client_seq(&mut self) -> u64 {
        let seq = self.next_seq;
        self.next_seq += 1;
        seq
    }

    /// Open size of all orders on `side` that may still fill (pending cancels count).
    pub fn working(&self, side: Side) -> Qty {
        self.orders
            .iter()
            .filter(|o| o.side == side)
            .map(Order::remaining)
            .sum()
    }

    /// Brings working orders towards the targets (best first or in any order); cancels and
    /// new orders are appended to `out`, cancels first.
    ///
    /// `gate(side, price_ticks, qty, working_same_side, now)` returns the size allowed (0
    /// vetoes); [`no_gate`] lets every size pass. New orders go out one per side in turn,
    /// `lead` first (see [`Desk::lead_side`]). A target of no size or at a price at or below
    /// zero is never sent, nor one beyond `max_open_orders` tracked. A `now` that is not
    /// finite, or a `fair_ticks` that is not finite and > 0, is refused before anything
    /// changes (a NaN fair value is allowed only without targets: everything is cancelled). If the
    /// gate fails, the actions decided before it stay in `out` (send them) and the error is
    /// returned.
    #[allow(clippy::too_many_arguments)]
    pub fn reconcile<E, G>(
        &mut self,
        bids: &[Target],
        asks: &[Target],
        fair_ticks: f64,
        now: f64,
        lead: Side,
        gate: &mut G,
        out: &mut Vec<Action>,
    ) -> Result<(), E>
    where
        E: From<ArgError>,
        G: FnMut(Side, Price, Qty, Qty, f64) -> Result<Qty, E>,
    {
        // NaN is "no fair value", which only a call without targets (cancel them all) may have
        let no_fair = fair_ticks.is_nan() && bids.is_empty() && asks.is_empty();
        let checked = if no_fair {
            Ok(())
        } else {
            positive(&[("fair_ticks", fair_ticks)])
        };
        if let Err(err) = checked.and_then(|()| crate::arg_error::finite(&[("now", now)])) {
            return Err(self.refuse(err).into());
        }
        let mut tol = self.cfg.tolerance_ticks;
        if self.cfg.tolerance_bps > 0.0 {
            tol = tol.max(self.cfg.tolerance_bps * 1e-4 * fair_ticks);
        }
        if !self.changed
            && now < self.expiry
            && tol == self.last_tol
            && bids == self.last_bids.as_slice()
            && asks == self.last_asks.as_slice()
        {
            return Ok(());
        }
        let max_age = self.cfg.max_order_age_s;
        let (mut free_bids, mut free_asks, mut drop, mut amend) = (
            std::mem::take(&mut self.free_bids),
            std::mem::take(&mut self.free_asks),
            std::mem::take(&mut self.drop),
            std::mem::take(&mut self.amend),
        );
        free_bids.clear();
        free_asks.clear();
        drop.clear();
        amend.clear();
        for (i, o) in self.orders.iter().enumerate() {
            if o.status == Status::PendingCancel {
                continue;
            }
            if now - o.created >= max_age {
                drop.push(i);
            } else if o.side == Side::Buy {
                free_bids.push(i);
            } else {
                free_asks.push(i);
            }
        }
        let bid_pairing = self.pair(Side::Buy, &mut free_bids, bids, tol, &mut drop, &mut amend);
        let ask_pairing = self.pair(Side::Sell, &mut free_asks, asks, tol, &mut drop, &mut amend);
        for &i in &drop {
            self.cancel_at(i, now, out);
        }
        for &(i, qty) in &amend {
            self.amend_at(i, qty, now, out);
        }
        let wanted = bid_pairing.missing.len() + ask_pairing.missing.len();
        let (first, second) = match lead {
            Side::Buy => (&bid_pairing.missing, &ask_pairing.missing),
            Side::Sell => (&ask_pairing.missing, &bid_pairing.missing),
        };
        let result = self.place(lead, first, second, now, gate, out);
        let placed = *result.as_ref().unwrap_or(&0);
        self.last_bids.clear();
        self.last_bids.extend_from_slice(bids);
        self.last_asks.clear();
        self.last_asks.extend_from_slice(asks);
        self.last_tol = tol;
        // a vetoed target is retried on the next call (the gate may allow it by then)
        self.changed = placed < wanted || result.is_err();
        let newest = if placed > 0 { now } else { f64::INFINITY };
        self.expiry = max_age + bid_pairing.oldest.min(ask_pairing.oldest).min(newest);
        self.free_bids = free_bids;
        self.free_asks = free_asks;
        self.drop = drop;
        self.amend = amend;
        result.map(|_| ())
    }

    /// Pairs `targets` with the orders at indices `free` (all of `side`) within `tol` ticks
    /// whose open size is close enough; unpaired orders go to `drop`. A paired order whose
    /// open size is too large goes to `amend` with its new total size when the venue can
    /// amend and the order can take it ([`Order::amendable`]), otherwise to `drop`.
    ///
    /// Both lists are walked best price first and paired in that order: for prices on a line
    /// with one tolerance, that pairs as many as any pairing can, so no order is replaced while
    /// some pairing would keep it (a nearest-first search can steal an order a later target
    /// needed).
    fn pair(
        &self,
        side: Side,
        free: &mut [usize],
        targets: &[Target],
        tol: f64,
        drop: &mut Vec<usize>,
        amend: &mut Vec<(usize, Qty)>,
    ) -> Pairing {
        let orders = &self.orders;
        // +1 per tick away from the touch; sorts are stable, so ties keep placement order
        let worse = -side.sign();
        free.sort_by_key(|&i| worse * orders[i].price_ticks.ticks());
        let mut wanted = targets.to_vec();
        wanted.sort_by_key(|t| worse * t.0.ticks());
        let size_tol = self.cfg.size_tolerance;
        let mut missing = Vec::new();
        let mut oldest = f64::INFINITY;
        let (mut i, mut j) = (0, 0);
        while i < wanted.len() && j < free.len() {
            let (price, qty) = wanted[i];
            let order = &orders[free[j]];
            let behind = (worse * (order.price_ticks - price)) as f64;
            if behind < -tol {
                drop.push(free[j]); // better than this target, so than every later one
                j += 1;
            } else if behind > tol {
                missing.push(wanted[i]); // this order and every later one are too far behind
                i += 1;
            } else if (order.remaining_after_amend().lots() - qty.lots()).abs() as f64
                > size_tol * qty.lots() as f64
            {
                let total = order.filled + qty;
                if self.cfg.can_amend && order.amendable(total) {
                    amend.push((free[j], total));
                    oldest = oldest.min(order.created);
                    i += 1;
                } else {
                    drop.push(free[j]);
                }
                j += 1;
            } else {
                oldest = oldest.min(order.created);
                i += 1;
                j += 1;
            }
        }
        missing.extend_from_slice(&wanted[i..]);
        drop.extend_from_slice(&free[j..]);
        Pairing { missing, oldest }
    }

    /// Sends the missing targets through the gate, one of each side in turn (`first`, of
    /// `lead`, then `second`); the working size the gate sees includes the orders placed
    /// before in the same call. Returns how many were placed, or the gate's first error (the
    /// orders decided before it are in `out`).
    fn place<E, G>(
        &mut self,
        lead: Side,
        first: &[Target],
        second: &[Target],
        now: f64,
        gate: &mut G,
        out: &mut Vec<Action>,
    ) -> Result<usize, E>
    where
        G: FnMut(Side, Price, Qty, Qty, f64) -> Result<Qty, E>,
    {
        if first.is_empty() && second.is_empty() {
            return Ok(0);
        }
        let other = match lead {
            Side::Buy => Side::Sell,
            Side::Sell => Side::Buy,
        };
        let mut working = [self.working(lead), self.working(other)];
        let mut placed = 0;
        for i in 0..first.len().max(second.len()) {
            for (k, side, targets) in [(0, lead, first), (1, other, second)] {
                let Some(&(price_ticks, target_qty)) = targets.get(i) else {
                    continue;
                };
                let mut qty = Qty::ZERO;
                if price_ticks.is_positive() && target_qty.is_positive() {
                    qty = gate(side, price_ticks, target_qty, working[k], now)?;
                }
                if !qty.is_positive() || self.orders.len() >= self.cfg.max_open_orders {
                    self.vetoed += 1; // venues refuse such orders; the table is full
                    continue;
                }
                let client_seq = self.next_client_seq();
                out.push(Action::Place {
                    client_seq,
                    side,
                    price_ticks,
                    qty,
                });
                self.orders
                    .push(Order::new(client_seq, side, price_ticks, qty, now));
                self.placed += 1;
                working[k] += qty;
                placed += 1;
            }
        }
        Ok(placed)
    }

    fn cancel_at(&mut self, index: usize, now: f64, out: &mut Vec<Action>) -> bool {
        let order = &mut self.orders[index];
        if !order.request_cancel(now) {
            return false;
        }
        self.cancels += 1;
        out.push(Action::Cancel {
            client_seq: order.client_seq,
        });
        true
    }

    /// Sends an amend of the order at `index` to `qty` lots in total (paired as amendable).
    fn amend_at(&mut self, index: usize, qty: Qty, now: f64, out: &mut Vec<Action>) {
        let order = &mut self.orders[index];
        if order.request_amend(qty, now) {
            self.amends += 1;
            out.push(Action::Amend {
                client_seq: order.client_seq,
                qty,
            });
        }
    }

    /// Cancels every working order (appended to `out`); returns how many cancels were sent.
    pub fn cancel_all(&mut self, now: f64, out: &mut Vec<Action>) -> usize {
        self.changed = true;
        (0..self.orders.len())
            .filter(|&i| self.cancel_at(i, now, out))
            .count()
    }

    /// Applies a venue update about the order with client sequence `seq` (None: an id that is
    /// not this desk's) at `ts`. `seen(order, new)` gets the tracked
    /// order after the update (before a terminal order leaves the desk); `new` is false for a
    /// repeated fill id, which changes nothing.
    pub fn on_update(
        &mut self,
        seq: Option<u64>,
        ts: f64,
        update: &Update<'_>,
        seen: impl FnOnce(&Order, bool),
    ) -> Outcome {
        if let Update::Filled { fill_id, .. } = *update {
            if !self.remember_fill(fill_id) {
                let order = seq.and_then(|seq| self.order(seq));
                if let Some(order) = order {
                    seen(order, false);
                }
                return Outcome {
                    known: order.is_some(),
                    new: false,
                };
            }
        }
        let found = seq.and_then(|seq| self.orders.iter().position(|o| o.client_seq == seq));
        let Some(index) = found else {
            return Outcome {
                known: false,
                new: true,
            };
        };
        self.changed = true;
        let order = &mut self.orders[index];
        let before = order.anomalies;
        order.apply(ts, update);
        self.anomalies += u64::from(order.anomalies - before);
        seen(order, true);
        if order.status.terminal() {
            self.orders.remove(index);
        }
        Outcome {
            known: true,
            new: true,
        }
    }

    /// False when `fill_id` was seen among the recent ones; otherwise remembers it.
    fn remember_fill(&mut self, fill_id: u64) -> bool {
        if self.fill_ids.contains(&fill_id) {
            return false;
        }
        if self.fill_order.len() == self.cfg.recent_fill_ids {
            if let Some(oldest) = self.fill_order.pop_front() {
                self.fill_ids.remove(&oldest);
            }
        }
        self.fill_order.push_back(fill_id);
        self.fill_ids.insert(fill_id);
        true
    }

    /// Adopts open orders known from the journal (after a restart); new client ids continue
    /// after `last_client_seq` so none is reused. Terminal orders are ignored.
    pub fn restore(&mut self, orders: impl IntoIterator<Item = Order>, last_client_seq: u64) {
        self.next_seq = self.next_seq.max(last_client_seq + 1);
        self.changed = true;
        for order in orders {
            if !order.status.terminal() && self.order(order.client_seq).is_none() {
                self.orders.push(order);
            }
        }
    }

    /// Drops the order with client sequence `seq` without telling the venue (it no longer holds it):
    /// the order, marked expired at `ts`, or None when unknown.
    pub fn forget(&mut self, seq: u64, ts: f64) -> Option<Order> {
        let index = self.orders.iter().position(|o| o.client_seq == seq)?;
        self.changed = true;
        let mut order = self.orders.remove(index);
        order.status = Status::Expired;
        order.updated = order.updated.max(ts);
        Some(order)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn desk(tolerance_ticks: f64) -> Desk {
        let cfg = DeskConfig {
            lot_size: 0.1,
            tolerance_ticks,
            tolerance_bps: 0.0,
            size_tolerance: 0.25,
            max_order_age_s: 30.0,
            recent_fill_ids: 100,
            max_open_orders: 50,
            can_amend: false,
        };
        Desk::new(cfg, "mm-X-".into()).unwrap()
    }

    fn run(d: &mut Desk, bids: &[Target], asks: &[Target], now: f64) -> Vec<Action> {
        let mut out = Vec::new();
        let lead = d.lead_side(0);
        d.reconcile(bids, asks, 100.0, now, lead, &mut no_gate, &mut out)
            .unwrap();
        out
    }

    fn prices(actions: &[Action]) -> Vec<i64> {
        actions
            .iter()
            .filter_map(|a| match a {
                Action::Place { price_ticks, .. } => Some(price_ticks.ticks()),
                _ => None,
            })
            .collect()
    }

    fn cancels(actions: &[Action]) -> Vec<u64> {
        actions
            .iter()
            .filter_map(|a| match a {
                Action::Cancel { client_seq } => Some(*client_seq),
                _ => None,
            })
            .collect()
    }

    #[test]
    fn pairing_keeps_every_order_some_pairing_can_keep() {
        let mut d = desk(1.0);
        let first = run(
            &mut d,
            &[(Price(100), Qty(10)), (Price(98), Qty(10))],
            &[(Price(103), Qty(10)), (Price(105), Qty(10))],
            0.0,
        );
        assert_eq!(prices(&first), [100, 103, 98, 105]); // one per side in turn
        let kept = run(
            &mut d,
            &[(Price(99), Qty(10)), (Price(98), Qty(10))],
            &[(Price(104), Qty(10)), (Price(105), Qty(10))],
            0.1,
        );
        assert!(kept.is_empty(), "{kept:?}");
        let moved = run(
            &mut d,
            &[(Price(97), Qty(10)), (Price(96), Qty(10))],
            &[(Price(104), Qty(10)), (Price(105), Qty(10))],
            0.2,
        );
        assert_eq!((prices(&moved), cancels(&moved)), (vec![96], vec![1]));
    }

    #[test]
    fn same_targets_need_no_diff_until_an_order_ages_out() {
        let mut d = desk(0.0);
        run(&mut d, &[(Price(100), Qty(10))], &[], 0.0);
        assert!(run(&mut d, &[(Price(100), Qty(10))], &[], 29.0).is_empty());
        let aged = run(&mut d, &[(Price(100), Qty(10))], &[], 30.0);
        assert_eq!((prices(&aged), cancels(&aged)), (vec![100], vec![1]));
    }

    #[test]
    fn the_gate_sees_working_size_and_a_failure_keeps_earlier_actions() {
        let mut d = desk(0.0);
        let mut seen = Vec::new();
        let mut gate = |_: Side, _: Price, q: Qty, w: Qty, _: f64| -> Result<Qty, ArgError> {
            seen.push(w.lots());
            if w >= Qty(20) {
                Err(ArgError::new("gate", "full"))
            } else {
                Ok(q)
            }
        };
        let mut out = Vec::new();
        let targets = [
            (Price(100), Qty(10)),
            (Price(99), Qty(10)),
            (Price(98), Qty(10)),
        ];
        let result = d.reconcile(&targets, &[], 100.0, 0.0, Side::Buy, &mut gate, &mut out);
        assert_eq!(result.unwrap_err().arg, "gate");
        assert_eq!(seen, [0, 10, 20]);
        assert_eq!(prices(&out), [100, 99]);
        assert_eq!(d.orders().len(), 2);
    }

    #[test]
    fn no_order_of_no_size_or_at_a_price_of_zero() {
        let mut d = desk(0.0);
        let out = run(
            &mut d,
            &[
                (Price(0), Qty(10)),
                (Price(99), Qty(0)),
                (Price(-98), Qty(10)),
            ],
            &[(Price(101), Qty(10))],
            0.0,
        );
        assert_eq!(prices(&out), [101]);
        assert_eq!(d.vetoed, 3);
    }

    #[test]
    fn updates_move_orders_and_duplicates_change_nothing() {
        let mut d = desk(0.0);
        run(&mut d, &[(Price(100), Qty(10))], &[], 0.0);
        let fill = Update::Filled {
            fill_id: 1,
            qty: Qty(10),
        };
        let mut status = None;
        let outcome = d.on_update(Some(1), 0.1, &fill, |o, _| status = Some(o.status));
        assert_eq!(
            outcome,
            Outcome {
                known: true,
                new: true
            }
        );
        assert_eq!(status, Some(Status::Filled));
        assert!(d.orders().is_empty());
        let again = d.on_update(Some(1), 0.1, &fill, |_, _| panic!("nothing to see"));
        assert_eq!(
            again,
            Outcome {
                known: false,
                new: false
            }
        );
        let ghost = d.on_update(None, 0.2, &Update::Cancelled, |_, _| panic!("unknown"));
        assert_eq!(
            ghost,
            Outcome {
                known: false,
                new: true
            }
        );
    }

    #[test]
    fn restore_continues_client_ids_and_forget_expires() {
        let mut d = desk(0.0);
        let old = Order::new(7, Side::Sell, Price(105), Qty(10), 0.0);
        d.restore([old], 7);
        assert_eq!(d.next_client_seq(), 8);
        let gone = d.forget(7, 5.0).unwrap();
        assert_eq!((gone.status, gone.updated), (Status::Expired, 5.0));
        assert!(d.orders().is_empty() && d.forget(7, 6.0).is_none());
    }

    fn desk_with(edit: impl FnOnce(&mut DeskConfig)) -> Desk {
        let mut cfg = desk(0.0).config().clone();
        edit(&mut cfg);
        Desk::new(cfg, "mm-X-".into()).unwrap()
    }

    #[test]
    fn the_tolerance_in_bps_of_fair_widens_the_tolerance_in_ticks() {
        // 10 bps of a fair value of 10,000 ticks is 10 ticks
        let mut d = desk_with(|c| c.tolerance_bps = 10.0);
        let place = |d: &mut Desk, bid: i64, fair: f64, now: f64| {
            let mut out = Vec::new();
            d.reconcile(
                &[(Price(bid), Qty(10))],
                &[],
                fair,
                now,
                Side::Buy,
                &mut no_gate,
                &mut out,
            )
            .unwrap();
            out
        };
        place(&mut d, 9_990, 10_000.0, 0.0);
        assert!(place(&mut d, 9_981, 10_000.0, 0.1).is_empty()); // 9 ticks: kept

        // the same target once the fair value is 1,000 ticks (tolerance 1 tick): replaced
        assert_eq!(cancels(&place(&mut d, 9_981, 1_000.0, 0.15)), [1]);
        assert_eq!(cancels(&place(&mut d, 9_970, 10_000.0, 0.2)), [2]); // 11: replaced

        // at a fair value of 1,000 ticks, 10 bps is one tick
        let mut d = desk_with(|c| c.tolerance_bps = 10.0);
        place(&mut d, 990, 1_000.0, 0.0);
        assert!(place(&mut d, 989, 1_000.0, 0.1).is_empty());
        assert_eq!(cancels(&place(&mut d, 987, 1_000.0, 0.2)), [1]);
    }

    #[test]
    fn the_no_diff_shortcut_never_hides_a_change() {
        let mut d = desk(0.0);
        run(
            &mut d,
            &[(Price(100), Qty(10))],
            &[(Price(110), Qty(10))],
            10.0,
        );
        // only the asks change: requoted
        let moved = run(
            &mut d,
            &[(Price(100), Qty(10))],
            &[(Price(112), Qty(10))],
            10.1,
        );
        assert_eq!((prices(&moved), cancels(&moved)), (vec![112], vec![2]));
        // the bid fills: the same targets place it again
        let fill = Update::Filled {
            fill_id: 7,
            qty: Qty(10),
        };
        d.on_update(Some(1), 10.2, &fill, |_, _| {});
        assert_eq!(
            prices(&run(
                &mut d,
                &[(Price(100), Qty(10))],
                &[(Price(112), Qty(10))],
                10.3
            )),
            [100]
        );
        // orders created at 10.0 and 10.1 age out at 40.0 and 40.1, long past too
        let ask_moved = run(
            &mut d,
            &[(Price(100), Qty(10))],
            &[(Price(113), Qty(10))],
            20.0,
        );
        assert_eq!(cancels(&ask_moved), [3]); // the bid of 10.3 is 9.7 s old: kept
        assert!(run(
            &mut d,
            &[(Price(100), Qty(10))],
            &[(Price(113), Qty(10))],
            39.9
        )
        .is_empty());
        let aged = run(
            &mut d,
            &[(Price(100), Qty(10))],
            &[(Price(113), Qty(10))],
            55.0,
        );
        assert_eq!(cancels(&aged).len(), 2);
    }

    fn amends(actions: &[Action]) -> Vec<(u64, Qty)> {
        actions
            .iter()
            .filter_map(|a| match a {
                Action::Amend { client_seq, qty } => Some((*client_seq, *qty)),
                _ => None,
            })
            .collect()
    }

    fn ack(d: &mut Desk, seq: u64, ts: f64) {
        d.on_update(Some(seq), ts, &Update::Acked { venue_id: "" }, |_, _| {});
    }

    #[test]
    fn a_size_too_large_is_amended_down_when_the_venue_can_amend() {
        let mut d = desk_with(|c| c.can_amend = true);
        run(&mut d, &[(Price(100), Qty(10))], &[], 0.0);
        ack(&mut d, 1, 0.01);
        let fill = Update::Filled {
            fill_id: 1,
            qty: Qty(2),
        };
        d.on_update(Some(1), 0.02, &fill, |_, _| {});
        // 8 open, target 4: amend to 2 filled + 4 = 6 in total, no cancel, no new order
        let out = run(&mut d, &[(Price(100), Qty(4))], &[], 0.1);
        assert_eq!(amends(&out), [(1, Qty(6))]);
        assert!(prices(&out).is_empty() && cancels(&out).is_empty());
        assert_eq!((d.amends, d.working(Side::Buy)), (1, Qty(8))); // old size until confirmed

        // in flight: the same target again sends nothing more
        assert!(run(&mut d, &[(Price(100), Qty(4))], &[], 0.2).is_empty());
        let amended = Update::Amended { qty: Qty(6) };
        d.on_update(Some(1), 0.3, &amended, |_, _| {});
        let order = d.order(1).unwrap();
        assert_eq!(
            (order.qty, order.amend_to, order.status),
            (Qty(6), None, Status::PartiallyFilled)
        );
        assert_eq!(d.working(Side::Buy), Qty(4));
        assert!(run(&mut d, &[(Price(100), Qty(4))], &[], 0.4).is_empty());
        // a larger size is never amended: cancel and replace
        let out = run(&mut d, &[(Price(100), Qty(9))], &[], 0.5);
        assert_eq!((cancels(&out), prices(&out)), (vec![1], vec![100]));
        assert!(amends(&out).is_empty());
    }

    #[test]
    fn without_amends_or_before_the_ack_a_size_too_large_is_replaced() {
        for (can_amend, acked) in [(false, true), (true, false)] {
            let mut d = desk_with(|c| c.can_amend = can_amend);
            run(&mut d, &[(Price(100), Qty(10))], &[], 0.0);
            if acked {
                ack(&mut d, 1, 0.01);
            }
            let out = run(&mut d, &[(Price(100), Qty(4))], &[], 0.1);
            assert_eq!((cancels(&out), prices(&out)), (vec![1], vec![100]));
            assert!(amends(&out).is_empty());
        }
    }

    #[test]
    fn a_refused_amend_leaves_the_order_as_it_was_and_is_tried_again() {
        let mut d = desk_with(|c| c.can_amend = true);
        run(&mut d, &[(Price(100), Qty(10))], &[], 0.0);
        ack(&mut d, 1, 0.01);
        assert_eq!(
            amends(&run(&mut d, &[(Price(100), Qty(4))], &[], 0.1)),
            [(1, Qty(4))]
        );
        d.on_update(Some(1), 0.2, &Update::AmendRejected, |_, _| {});
        let order = d.order(1).unwrap();
        assert_eq!((order.qty, order.amend_to, d.anomalies), (Qty(10), None, 0));
        assert_eq!(
            amends(&run(&mut d, &[(Price(100), Qty(4))], &[], 0.3)),
            [(1, Qty(4))]
        );
        // an amend answered while none is in flight is an anomaly
        d.on_update(Some(1), 0.4, &Update::AmendRejected, |_, _| {});
        d.on_update(Some(1), 0.5, &Update::AmendRejected, |_, _| {});
        assert_eq!(d.anomalies, 1);
    }

    #[test]
    fn an_amend_confirmed_at_the_filled_size_fills_the_order() {
        let mut d = desk_with(|c| c.can_amend = true);
        run(&mut d, &[(Price(100), Qty(10))], &[], 0.0);
        ack(&mut d, 1, 0.01);
        run(&mut d, &[(Price(100), Qty(4))], &[], 0.1); // amend to 4
        let fill = Update::Filled {
            fill_id: 1,
            qty: Qty(4),
        };
        d.on_update(Some(1), 0.2, &fill, |_, _| {}); // a fill raced the amend
        assert_eq!(d.order(1).unwrap().status, Status::PartiallyFilled);
        let mut seen = None;
        d.on_update(Some(1), 0.3, &Update::Amended { qty: Qty(4) }, |o, _| {
            seen = Some(o.status)
        });
        assert_eq!((seen, d.orders().len()), (Some(Status::Filled), 0));
    }

    #[test]
    fn an_order_within_the_size_tolerance_is_kept() {
        let mut d = desk(0.0); // size tolerance 0.25
        run(&mut d, &[(Price(100), Qty(10))], &[], 0.0);
        assert!(run(&mut d, &[(Price(100), Qty(8))], &[], 0.05).is_empty()); // 10 is 25% of 8 away
        assert!(run(&mut d, &[(Price(100), Qty(12))], &[], 0.1).is_empty()); // 10 is within 25% of 12
        let resized = run(&mut d, &[(Price(100), Qty(14))], &[], 0.2); // not of 14
        assert_eq!((prices(&resized), cancels(&resized)), (vec![100], vec![1]));
    }

    #[test]
    fn an_order_at_the_price_tolerance_is_kept() {
        let mut d = desk(1.0);
        run(
            &mut d,
            &[(Price(100), Qty(10))],
            &[(Price(110), Qty(10))],
            0.0,
        );
        assert!(run(
            &mut d,
            &[(Price(101), Qty(10))],
            &[(Price(109), Qty(10))],
            0.1
        )
        .is_empty());
        assert!(run(
            &mut d,
            &[(Price(99), Qty(10))],
            &[(Price(111), Qty(10))],
            0.2
        )
        .is_empty());
    }

    #[test]
    fn orders_placed_in_any_order_pair_best_first() {
        let mut d = desk(0.0);
        run(
            &mut d,
            &[(Price(100), Qty(10))],
            &[(Price(110), Qty(10))],
            0.0,
        );
        run(
            &mut d,
            &[(Price(101), Qty(10)), (Price(100), Qty(10))],
            &[(Price(110), Qty(10))],
            0.1,
        ); // 101 after 100
        let again = run(
            &mut d,
            &[(Price(101), Qty(10)), (Price(100), Qty(10))],
            &[(Price(111), Qty(10))],
            0.2,
        );
        assert_eq!(cancels(&again), [2]); // only the ask moved
    }

    #[test]
    fn counters_fill_memory_and_restore() {
        let mut d = desk_with(|c| c.recent_fill_ids = 2);
        run(&mut d, &[(Price(100), Qty(10))], &[], 0.0);
        let fill = |id| Update::Filled {
            fill_id: id,
            qty: Qty(1),
        };
        for id in [1, 2, 3] {
            assert!(d.on_update(Some(1), 0.1, &fill(id), |_, _| {}).new);
        }
        assert!(!d.on_update(Some(1), 0.1, &fill(3), |_, _| {}).new); // remembered
        assert!(!d.on_update(Some(1), 0.1, &fill(2), |_, _| {}).new); // the two latest are
        assert!(d.on_update(Some(1), 0.1, &fill(1), |_, _| {}).new); // forgotten: only 2 kept
        assert_eq!(d.order(1).unwrap().filled, Qty(4));
        d.on_update(Some(1), 0.2, &Update::CancelRejected, |_, _| {}); // not pending cancel
        d.on_update(Some(1), 0.2, &Update::CancelRejected, |_, _| {});
        assert_eq!(d.anomalies, 2);
        assert_eq!(run(&mut d, &[], &[], 0.3).len(), 1);
        assert_eq!((d.cancels, d.placed), (1, 1));
        let mut done = Order::new(8, Side::Buy, Price(100), Qty(10), 0.0);
        done.status = Status::Filled;
        let open = Order::new(1, Side::Buy, Price(90), Qty(10), 0.0);
        d.restore([done, open], 8);
        let ids: Vec<_> = d
            .orders()
            .iter()
            .map(|o| (o.client_seq, o.price_ticks.ticks()))
            .collect();
        assert_eq!(ids, [(1, 100)]); // neither the filled order nor a second mm-X-1
    }

    #[test]
    fn a_vetoed_target_is_retried_with_the_same_targets() {
        let mut d = desk(0.0);
        let mut allow = false;
        for now in [0.0, 0.1] {
            let mut gate = |_: Side, _: Price, q: Qty, _: Qty, _: f64| -> Result<Qty, ArgError> {
                Ok(if allow { q } else { Qty::ZERO })
            };
            let mut out = Vec::new();
            d.reconcile(
                &[(Price(100), Qty(10))],
                &[],
                100.0,
                now,
                Side::Buy,
                &mut gate,
                &mut out,
            )
            .unwrap();
            assert_eq!(prices(&out).len(), usize::from(allow));
            allow = true;
        }
    }

    #[test]
    fn targets_in_any_order_pair_with_the_same_orders() {
        let mut d = desk(0.0);
        run(
            &mut d,
            &[(Price(100), Qty(10)), (Price(98), Qty(10))],
            &[(Price(103), Qty(10)), (Price(105), Qty(10))],
            0.0,
        );
        let again = run(
            &mut d,
            &[(Price(98), Qty(10)), (Price(100), Qty(10))],
            &[(Price(105), Qty(10)), (Price(103), Qty(10))],
            0.1,
        );
        assert!(again.is_empty(), "{again:?}");
    }

    #[test]
    fn the_reducing_side_leads_and_sides_alternate_while_flat() {
        let mut d = desk(0.0);
        assert_eq!(d.lead_side(5), Side::Sell);
        assert_eq!(d.lead_side(5), Side::Sell);
        assert_eq!(d.lead_side(-5), Side::Buy);
        assert_eq!(d.lead_side(-5), Side::Buy);
        assert_eq!(d.lead_side(0), Side::Sell);
        assert_eq!(d.lead_side(0), Side::Buy);
        assert_eq!(d.lead_side(0), Side::Sell);
    }

    #[test]
    fn one_token_per_call_goes_to_each_side_in_turn() {
        let mut d = desk(0.0);
        let mut sides = Vec::new();
        for i in 0..6 {
            let mut tokens = 1;
            let mut gate = |_: Side, _: Price, q: Qty, _: Qty, _: f64| -> Result<Qty, ArgError> {
                tokens -= 1;
                Ok(if tokens >= 0 { q } else { Qty::ZERO })
            };
            let mut out = Vec::new();
            let lead = d.lead_side(0);
            let (bid, ask) = (Price(100 - i), Price(200 + i)); // the market moves: every order is replaced
            d.reconcile(
                &[(bid, Qty(10))],
                &[(ask, Qty(10))],
                150.0,
                f64::from(i as i32),
                lead,
                &mut gate,
                &mut out,
            )
            .unwrap();
            sides.extend(out.iter().filter_map(|a| match a {
                Action::Place { side, .. } => Some(*side),
                _ => None,
            }));
        }
        let buys = sides.iter().filter(|s| **s == Side::Buy).count();
        assert_eq!((buys, sides.len()), (3, 6));
        assert_eq!(d.vetoed, 6);
    }

    #[test]
    fn bad_fair_values_and_times_are_refused_before_anything_changes() {
        let mut d = desk(0.0);
        run(&mut d, &[(Price(100), Qty(10))], &[], 0.0);
        for (fair, now, arg) in [
            (f64::NAN, 1.0, "fair_ticks"),
            (f64::INFINITY, 1.0, "fair_ticks"),
            (-1.0, 1.0, "fair_ticks"),
            (100.0, f64::NAN, "now"),
            (100.0, f64::NEG_INFINITY, "now"),
        ] {
            let mut out = Vec::new();
            let err = d
                .reconcile(
                    &[(Price(99), Qty(10))],
                    &[],
                    fair,
                    now,
                    Side::Buy,
                    &mut no_gate,
                    &mut out,
                )
                .unwrap_err();
            assert_eq!((err.arg, out.len(), d.orders().len()), (arg, 0, 1));
        }
        assert_eq!(d.refused, 5);
        // no fair value and no targets: everything is cancelled
        let mut out = Vec::new();
        d.reconcile(&[], &[], f64::NAN, 2.0, Side::Buy, &mut no_gate, &mut out)
            .unwrap();
        assert_eq!(cancels(&out), [1]);
    }

    #[test]
    fn bad_config_names_the_field() {
        let mut cfg = desk(0.0).config().clone();
        cfg.max_order_age_s = 0.0;
        assert_eq!(
            Desk::new(cfg, String::new()).unwrap_err().arg,
            "max_order_age_s"
        );
    }
}
