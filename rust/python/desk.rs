//! `OrderDesk`: the order desk (`crate::orders::desk`), driven from Python.

use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyList, PyTuple};

use super::paper::{fill_tuple, PaperSim};
use super::risk_gate::PreTradeGate;
use crate::arg_error::ArgError;
use crate::model::{split_seq, LotSize, Price, Qty, Rounding};
use crate::orders::desk::{Action, Desk, DeskConfig, Target};
use crate::orders::{Order, Side, Status, Update};

/// An order as a tuple: `(client_id, side, price_ticks, qty, filled, created, updated,
/// status_code, venue_id, anomalies)`; sizes in base units (whole lots inside).
type OrderRow = (String, i64, i64, f64, f64, f64, f64, u8, String, u32);

/// The row of `o`, an order of the desk whose client ids are `prefix` then the sequence (the
/// id string is formatted here, at the edge); an order acked by the paper venue `paper` (which
/// passes no venue id inside the core) gets the id that venue's wire would carry.
fn row(lot: &LotSize, prefix: &str, paper: Option<&str>, o: &Order) -> OrderRow {
    let client_id = format!("{prefix}{}", o.client_seq);
    let venue_id = match paper {
        Some(name) if o.venue_id.is_empty() && o.acked => crate::paper::venue_id(name, &client_id),
        _ => o.venue_id.clone(),
    };
    (
        client_id,
        o.side.sign(),
        o.price_ticks.ticks(),
        lot.units(o.qty),
        lot.units(o.filled),
        o.created,
        o.updated,
        o.status as u8,
        venue_id,
        o.anomalies,
    )
}

fn side_of(sign: i64) -> PyResult<Side> {
    Side::from_sign(sign).ok_or_else(|| {
        PyValueError::new_err(format!("side: must be +1 (buy) or -1 (sell), got {sign}"))
    })
}

/// Reads `(price_ticks, lots)` integer pairs (e.g. `Quote` named tuples) from any iterable
/// into `dst`; a size below zero or beyond [`Qty::MAX`] is refused naming `arg`, and a float
/// is a `TypeError` (sizes reach the desk in lots, never as floats).
fn read_targets(
    targets: &Bound<'_, PyAny>,
    dst: &mut Vec<Target>,
    arg: &'static str,
) -> PyResult<()> {
    dst.clear();
    let mut push = |item: &Bound<'_, PyAny>| -> PyResult<()> {
        let (price, lots) = read_target(item, arg)?;
        if !(0..=Qty::MAX.lots()).contains(&lots) {
            let reason = format!("lots must be in 0..={}, got {lots}", Qty::MAX.lots());
            return Err(ArgError::new(arg, reason).into());
        }
        dst.push((Price(price), Qty(lots)));
        Ok(())
    };
    if let Ok(tuple) = targets.cast::<PyTuple>() {
        for item in tuple.iter() {
            push(&item)?;
        }
        return Ok(());
    }
    let items = targets
        .try_iter()
        .map_err(|_| PyTypeError::new_err(format!("{arg}: expected an iterable of quotes")))?;
    for item in items {
        push(&item?)?;
    }
    Ok(())
}

fn read_target(item: &Bound<'_, PyAny>, arg: &str) -> PyResult<(i64, i64)> {
    let pair = item
        .cast::<PyTuple>()
        .ok()
        .filter(|pair| pair.len() >= 2)
        .ok_or_else(|| {
            PyTypeError::new_err(format!(
                "{arg}: each quote must be a (price_ticks, lots) tuple of integers"
            ))
        })?;
    let int = |i: usize| -> PyResult<i64> {
        pair.get_item(i)?.extract().map_err(|err: PyErr| {
            PyTypeError::new_err(format!(
                "{arg}: each quote must be a (price_ticks, lots) tuple of integers ({err})"
            ))
        })
    };
    Ok((int(0)?, int(1)?))
}

/// The integer key a venue's fill id is remembered by inside the desk: its 64-bit SipHash
/// (fixed keys, so deterministic). Two different ids among the `recent_fill_ids` remembered
/// collide with probability about n²/2^65 (1e-11 for 10,000), which would drop a real fill as
/// a duplicate; the paper venue's fills need no key, their ids are integers inside the core.
fn fill_key(fill_id: &str) -> u64 {
    use std::hash::{Hash, Hasher};
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    fill_id.hash(&mut hasher);
    hasher.finish()
}

/// The working orders of one symbol kept close to target quotes: requote hysteresis, client
/// ids, the order state machine and duplicate-fill detection, in Rust. Orders go to a
/// `PaperSim` directly, or to any object with `send_order(client_id, side, price_ticks, qty,
/// now)`, `send_cancel(client_id, now)` and (for a desk that can amend) `send_amend(client_id,
/// qty, now)` methods. Orders come back as tuples (see the stub).
#[pyclass(module = "mmcore._core")]
pub struct OrderDesk {
    pub(super) inner: Desk,
    symbol: String,
    /// The name of the paper venue taken from (its venue ids are formatted here, at the edge).
    pub(super) paper: Option<String>,
    bids: Vec<Target>,
    asks: Vec<Target>,
    pub(super) actions: Vec<Action>,
}

impl OrderDesk {
    /// The client id string of this desk's sequence number `seq`.
    fn client_id(&self, seq: u64) -> String {
        format!("{}{seq}", self.inner.id_prefix())
    }

    /// The sequence number of `client_id` when it is one of this desk's (`{prefix}{seq}`).
    fn client_seq(&self, client_id: &str) -> Option<u64> {
        let rest = client_id.strip_prefix(self.inner.id_prefix())?;
        split_seq(rest).and_then(|(head, seq)| head.is_empty().then_some(seq))
    }

    /// The client ids of the orders, of the cancels and of the amends in `self.actions`.
    fn sent_ids<'py>(&self, py: Python<'py>) -> PyResult<[Bound<'py, PyList>; 3]> {
        let lists = [PyList::empty(py), PyList::empty(py), PyList::empty(py)];
        for action in &self.actions {
            let (list, seq) = match action {
                Action::Place { client_seq, .. } => (&lists[0], client_seq),
                Action::Cancel { client_seq } => (&lists[1], client_seq),
                Action::Amend { client_seq, .. } => (&lists[2], client_seq),
            };
            list.append(self.client_id(*seq))?;
        }
        Ok(lists)
    }

    /// Sends `self.actions` (then clears them) to `venue`; a paper order the simulator refuses
    /// is marked rejected. The first error is returned after every action was tried.
    fn route(&mut self, venue: &Bound<'_, PyAny>, now: f64) -> PyResult<()> {
        let actions = std::mem::take(&mut self.actions);
        let sent = if let Ok(sim) = venue.cast::<PaperSim>() {
            let mut sim = sim.borrow_mut();
            let prefix = sim.prefixes.intern(self.inner.id_prefix());
            self.inner
                .send_to_paper(&mut sim.inner, &self.symbol, prefix, &actions, now)
                .map_err(PyErr::from)
        } else {
            let mut first_error = None;
            for action in &actions {
                let sent = match action {
                    Action::Place {
                        client_seq,
                        side,
                        price_ticks,
                        qty,
                    } => venue.call_method1(
                        "send_order",
                        (
                            self.client_id(*client_seq),
                            side.sign(),
                            price_ticks.ticks(),
                            self.inner.lot().units(*qty),
                            now,
                        ),
                    ),
                    Action::Cancel { client_seq } => {
                        venue.call_method1("send_cancel", (self.client_id(*client_seq), now))
                    }
                    Action::Amend { client_seq, qty } => venue.call_method1(
                        "send_amend",
                        (
                            self.client_id(*client_seq),
                            self.inner.lot().units(*qty),
                            now,
                        ),
                    ),
                };
                if let Err(err) = sent {
                    first_error.get_or_insert(err);
                }
            }
            first_error.map_or(Ok(()), Err)
        };
        self.actions = actions;
        self.actions.clear();
        sent
    }
}

#[pymethods]
impl OrderDesk {
    /// A desk for `symbol` with no orders; client ids are `id_prefix` followed by 1, 2, …;
    /// every size is a whole number of `lot_size` lots inside.
    #[new]
    #[pyo3(signature = (symbol, id_prefix, *, lot_size=1e-8, tolerance_ticks=0.0,
                        tolerance_bps=0.0, size_tolerance=0.25, max_order_age_s=30.0,
                        recent_fill_ids=10_000, max_open_orders=200, can_amend=false))]
    #[allow(clippy::too_many_arguments)]
    fn new(
        symbol: String,
        id_prefix: String,
        lot_size: f64,
        tolerance_ticks: f64,
        tolerance_bps: f64,
        size_tolerance: f64,
        max_order_age_s: f64,
        recent_fill_ids: usize,
        max_open_orders: usize,
        can_amend: bool,
    ) -> PyResult<Self> {
        let cfg = DeskConfig {
            lot_size,
            tolerance_ticks,
            tolerance_bps,
            size_tolerance,
            max_order_age_s,
            recent_fill_ids,
            max_open_orders,
            can_amend,
        };
        Ok(OrderDesk {
            inner: Desk::new(cfg, id_prefix)?,
            symbol,
            paper: None,
            bids: Vec::new(),
            asks: Vec::new(),
            actions: Vec::new(),
        })
    }

    /// Brings working orders towards `bids` and `asks` (`(price_ticks, lots)` integer pairs)
    /// and sends the cancels, the amends (with `can_amend`: an order at the right price whose
    /// size is too large is reduced in place), then the new orders, to `venue`; returns the
    /// client ids of the new orders, of the orders cancelled and of the orders amended. New
    /// orders go out
    /// one per side in turn, the side that reduces the gate's position first (alternating
    /// while flat), so a dry order-rate bucket starves neither side.
    ///
    /// `gate` is a `PreTradeGate` (consulted in Rust; its lot must be the desk's), a callable
    /// `gate(side, price_ticks, qty, working_same_side, now)` returning the size the risk
    /// limits allow (0 to veto), or None. If the gate raises, what was decided before is still
    /// sent and the error propagates. Negative sizes, a fair value that is not finite and > 0
    /// and a `now` that is not finite are refused (ValueError naming them, counted in
    /// `refused`), and float sizes too (TypeError), before anything changes.
    #[pyo3(signature = (bids, asks, fair_ticks, now, gate, venue))]
    #[allow(clippy::too_many_arguments)]
    fn reconcile<'py>(
        &mut self,
        py: Python<'py>,
        bids: &Bound<'py, PyAny>,
        asks: &Bound<'py, PyAny>,
        fair_ticks: f64,
        now: f64,
        gate: Option<&Bound<'py, PyAny>>,
        venue: &Bound<'py, PyAny>,
    ) -> PyResult<[Bound<'py, PyList>; 3]> {
        let lot = *self.inner.lot();
        let read = read_targets(bids, &mut self.bids, "bids")
            .and_then(|()| read_targets(asks, &mut self.asks, "asks"));
        if let Err(err) = read {
            self.inner.refused += 1;
            return Err(err);
        }
        let mut rust_gate = match gate {
            Some(gate) => gate.cast::<PreTradeGate>().ok().map(|g| g.borrow_mut()),
            None => None,
        };
        let position = match &rust_gate {
            Some(rust) if rust.inner.lot() != &lot => {
                let err = ArgError::new(
                    "lot_size",
                    format!(
                        "the desk counts lots of {}, the gate of {}",
                        lot.size(),
                        rust.inner.lot().size()
                    ),
                );
                return Err(self.inner.refuse(err).into());
            }
            Some(rust) => rust.inner.position(),
            None => 0,
        };
        let lead = self.inner.lead_side(position);
        let mut call =
            |side: Side, price: Price, qty: Qty, working: Qty, now: f64| -> PyResult<Qty> {
                match (&mut rust_gate, gate) {
                    (Some(rust), _) => Ok(rust.inner.allow(side, price, qty, working, now)),
                    (None, Some(gate)) => {
                        let allowed = gate
                            .call1((
                                side.sign(),
                                price.ticks(),
                                lot.units(qty),
                                lot.units(working),
                                now,
                            ))?
                            .extract::<f64>()?;
                        Ok(lot.lots("gate", allowed, Rounding::Down)?)
                    }
                    (None, None) => Ok(qty),
                }
            };
        let decided = self.inner.reconcile(
            &self.bids,
            &self.asks,
            fair_ticks,
            now,
            lead,
            &mut call,
            &mut self.actions,
        );
        let sent = self.sent_ids(py)?;
        let routed = self.route(venue, now);
        decided?;
        routed?;
        Ok(sent)
    }

    /// Sends the actions the engine step left pending (cancels, amends, new orders) to
    /// `venue`; returns the client ids of the new orders, of the orders cancelled and of the
    /// orders amended.
    fn flush<'py>(
        &mut self,
        py: Python<'py>,
        venue: &Bound<'py, PyAny>,
        now: f64,
    ) -> PyResult<[Bound<'py, PyList>; 3]> {
        let sent = self.sent_ids(py)?;
        if !self.actions.is_empty() {
            self.route(venue, now)?;
        }
        Ok(sent)
    }

    /// Cancels every working order at `venue`; returns their client ids.
    fn cancel_all<'py>(
        &mut self,
        py: Python<'py>,
        venue: &Bound<'py, PyAny>,
        now: f64,
    ) -> PyResult<Bound<'py, PyList>> {
        self.inner.cancel_all(now, &mut self.actions);
        let [_, cancelled, _] = self.sent_ids(py)?;
        self.route(venue, now)?;
        Ok(cancelled)
    }

    /// Takes the responses `sim` has for us by `now` and applies them: returns the new fills
    /// as `(client_id, ts, fill_id, side, price_ticks, qty, fee, maker)` tuples (a fill for an
    /// order no longer tracked included) and, with `record`, a list of `(kind, ts, order_row)`
    /// for every new event on a tracked order (else None).
    fn take<'py>(
        &mut self,
        py: Python<'py>,
        sim: &Bound<'py, PaperSim>,
        now: f64,
        record: bool,
    ) -> PyResult<(Bound<'py, PyList>, Option<Bound<'py, PyList>>)> {
        let fills = PyList::empty(py);
        let records = record.then(|| PyList::empty(py));
        let mut failed = None;
        let mut sim = sim.borrow_mut();
        let sim = &mut *sim;
        let lot = *self.inner.lot();
        let prefix = sim.prefixes.intern(self.inner.id_prefix());
        let name = &*self.paper.insert(sim.inner.config().name.clone());
        let ids = &sim.prefixes;
        let id_prefix = self.inner.id_prefix().to_owned();
        self.inner
            .take_from_paper(&mut sim.inner, prefix, now, |event, new, order| {
                if !new || failed.is_some() {
                    return;
                }
                let appended = event
                    .fill_fields()
                    .map_or(Ok(()), |fill| {
                        fills.append(fill_tuple(name, &lot, ids, fill))
                    })
                    .and_then(|()| match (&records, order) {
                        (Some(records), Some(order)) => {
                            let kind = Update::from(event).kind();
                            records.append((
                                kind,
                                event.ts(),
                                row(&lot, &id_prefix, Some(name), order),
                            ))
                        }
                        _ => Ok(()),
                    });
                if let Err(err) = appended {
                    failed = Some(err);
                }
            });
        failed.map_or(Ok((fills, records)), Err)
    }

    /// Applies one venue event: `kind` 0 acked (`text` = venue id), 1 rejected, 2 filled
    /// (`text` = fill id, `qty` rounded to the nearest lot), 3 cancelled, 4 cancel rejected,
    /// 5 expired, 6 amended (`qty` = the order's new total size, rounded to the nearest lot),
    /// 7 amend rejected. Returns `(order_row after the event, or None for an order not tracked, event
    /// is new)`. A fill size that is NaN, ±inf or negative, or a `ts` that is not finite, is
    /// refused (ValueError naming it, counted in `refused`) before anything changes.
    #[pyo3(signature = (kind, client_id, ts, text="", qty=0.0))]
    fn apply(
        &mut self,
        kind: u8,
        client_id: &str,
        ts: f64,
        text: &str,
        qty: f64,
    ) -> PyResult<(Option<OrderRow>, bool)> {
        let checked = crate::arg_error::finite(&[("ts", ts)]).and_then(|()| {
            if kind == 2 || kind == 6 {
                self.inner.lot().lots("qty", qty, Rounding::Nearest)
            } else {
                Ok(Qty::ZERO)
            }
        });
        let lots = match checked {
            Ok(lots) => lots,
            Err(err) => return Err(self.inner.refuse(err).into()),
        };
        let update = match kind {
            0 => Update::Acked { venue_id: text },
            1 => Update::Rejected,
            2 => Update::Filled {
                fill_id: fill_key(text),
                qty: lots,
            },
            3 => Update::Cancelled,
            4 => Update::CancelRejected,
            5 => Update::Expired,
            6 => Update::Amended { qty: lots },
            7 => Update::AmendRejected,
            other => {
                return Err(PyValueError::new_err(format!(
                    "kind: must be 0..=7, got {other}"
                )))
            }
        };
        let mut snapshot = None;
        let lot = *self.inner.lot();
        let seq = self.client_seq(client_id);
        let paper = self.paper.as_deref();
        let prefix = self.inner.id_prefix().to_owned();
        let outcome = self.inner.on_update(seq, ts, &update, |o, _| {
            snapshot = Some(row(&lot, &prefix, paper, o))
        });
        Ok((snapshot, outcome.new))
    }

    /// Active orders as tuples, in the order they were placed.
    fn orders(&self) -> Vec<OrderRow> {
        let lot = self.inner.lot();
        let paper = self.paper.as_deref();
        let prefix = self.inner.id_prefix();
        self.inner
            .orders()
            .iter()
            .map(|o| row(lot, prefix, paper, o))
            .collect()
    }

    /// The active order with `client_id` as a tuple, or None.
    fn order(&self, client_id: &str) -> Option<OrderRow> {
        let prefix = self.inner.id_prefix();
        self.inner
            .order(self.client_seq(client_id)?)
            .map(|o| row(self.inner.lot(), prefix, self.paper.as_deref(), o))
    }

    /// Open size of the orders on `side` (+1 buy, -1 sell), pending cancels included.
    fn working(&self, side: i64) -> PyResult<f64> {
        Ok(self.inner.lot().units(self.inner.working(side_of(side)?)))
    }

    /// A fresh client order id.
    fn next_client_id(&mut self) -> String {
        let seq = self.inner.next_client_seq();
        self.client_id(seq)
    }

    /// Adopts open orders (tuples as `orders()` returns them) known from a journal; new client
    /// ids continue after `last_client_seq`. An order whose client id is not this desk's
    /// (`{id_prefix}{n}`) is refused (ValueError naming `client_id`), nothing adopted.
    fn restore(&mut self, orders: Vec<OrderRow>, last_client_seq: u64) -> PyResult<()> {
        let mut adopted = Vec::with_capacity(orders.len());
        let lot = *self.inner.lot();
        for (cid, side, price, qty, filled, created, updated, code, venue_id, anomalies) in orders {
            let status = Status::from_code(code).ok_or_else(|| {
                PyValueError::new_err(format!("status: unknown code {code} for {cid}"))
            })?;
            let client_seq = self.client_seq(&cid).ok_or_else(|| {
                PyValueError::new_err(format!(
                    "client_id: {cid:?} is not one of this desk's ({:?} then a number)",
                    self.inner.id_prefix()
                ))
            })?;
            adopted.push(Order {
                client_seq,
                side: side_of(side)?,
                price_ticks: Price(price),
                qty: lot.lots("qty", qty, Rounding::Nearest)?,
                filled: lot.lots("filled", filled, Rounding::Nearest)?,
                created,
                updated,
                status,
                venue_id,
                anomalies,
                acked: status != Status::PendingNew,
                amend_to: None,
            });
        }
        self.inner.restore(adopted, last_client_seq);
        Ok(())
    }

    /// Drops the order `client_id` that the venue no longer holds: its tuple, marked expired
    /// at `ts`, or None.
    fn forget(&mut self, client_id: &str, ts: f64) -> Option<OrderRow> {
        let lot = *self.inner.lot();
        let order = self.inner.forget(self.client_seq(client_id)?, ts)?;
        Some(row(
            &lot,
            self.inner.id_prefix(),
            self.paper.as_deref(),
            &order,
        ))
    }

    /// Amends sent (sizes reduced in place).
    #[getter]
    fn amends(&self) -> u64 {
        self.inner.amends
    }

    /// Orders placed.
    #[getter]
    fn placed(&self) -> u64 {
        self.inner.placed
    }

    /// Cancels sent.
    #[getter]
    fn cancels(&self) -> u64 {
        self.inner.cancels
    }

    /// Targets not sent (vetoed by the gate, of no size or at a price at or below zero).
    #[getter]
    fn vetoed(&self) -> u64 {
        self.inner.vetoed
    }

    /// Out-of-order or impossible venue events absorbed.
    #[getter]
    fn anomalies(&self) -> u64 {
        self.inner.anomalies
    }

    /// Inputs refused (NaN, ±inf, negative sizes and times, a lot other than the desk's).
    #[getter]
    fn refused(&self) -> u64 {
        self.inner.refused
    }

    /// The lot every size is counted in (base units).
    #[getter]
    fn lot_size(&self) -> f64 {
        self.inner.lot().size()
    }

    fn __repr__(&self) -> String {
        format!(
            "OrderDesk({:?}, orders={}, placed={}, cancels={})",
            self.symbol,
            self.inner.orders().len(),
            self.inner.placed,
            self.inner.cancels
        )
    }
}
