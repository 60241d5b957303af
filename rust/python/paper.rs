//! `PaperSim`: the paper venue's simulation (`crate::paper`), driven from Python.

use numpy::{PyArray2, PyArrayMethods, PyReadonlyArray2, PyUntypedArrayMethods};
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::{PyList, PySet};

use super::order_book::OrderBook;
use crate::book::Side as BookSide;
use crate::model::{ClientId, LotSize, Prefixes, Price, Qty, Rounding};
use crate::paper::{self, Event, NewOrder, PaperConfig};

/// A fill's tuple for Python: `(client_id, ts, fill_id, side sign, price_ticks, qty, fee,
/// maker)` with the size in base units.
pub(super) type FillTuple = (String, f64, String, i64, i64, f64, f64, bool);

/// [`Event::fill_fields`] with the client and fill ids formatted (client id prefixes from
/// `ids`) and the size in base units: the venue edge.
pub(super) fn fill_tuple(
    venue: &str,
    lot: &LotSize,
    ids: &Prefixes,
    (cid, ts, fill_id, side, price, qty, fee, maker): (
        ClientId,
        f64,
        u64,
        i64,
        Price,
        Qty,
        f64,
        bool,
    ),
) -> FillTuple {
    let fill_id = paper::fill_id(venue, fill_id);
    (
        ids.format(cid),
        ts,
        fill_id,
        side,
        price.ticks(),
        lot.units(qty),
        fee,
        maker,
    )
}

/// A simulated venue for one instrument (the symbol of its first order): latency-delayed
/// order entry and cancels, a feed that lags the venue, post-only rejects, taker fills against
/// the visible book, queue-position maker fills and fees, sizes in whole lots. Rejects
/// duplicate client ids and orders beyond `max_open_orders` resting. `poll` returns event
/// tuples (see the stub for their layout).
#[pyclass(module = "mmcore._core")]
pub struct PaperSim {
    pub(super) inner: paper::PaperSim,
    /// The client id prefixes seen: ids are integers inside the core, strings here.
    pub(super) prefixes: Prefixes,
}

/// A `(k, 2)` float64 view of `value` (any array-like of numbers; float64 arrays are not copied).
fn book_rows<'py>(value: &Bound<'py, PyAny>, arg: &str) -> PyResult<PyReadonlyArray2<'py, f64>> {
    let array = match value.cast::<PyArray2<f64>>() {
        Ok(array) => array.clone(),
        Err(_) => {
            let py = value.py();
            let converted = py
                .import("numpy")?
                .call_method1("asarray", (value, "float64"))
                .map_err(|err| {
                    PyValueError::new_err(format!("{arg}: not an array of numbers ({err})"))
                })?;
            let shape: Vec<usize> = converted.getattr("shape")?.extract()?;
            converted.cast_into::<PyArray2<f64>>().map_err(|_| {
                PyValueError::new_err(format!(
                    "{arg}: expected a (k, 2) array of price, size rows, got shape {shape:?}"
                ))
            })?
        }
    };
    let shape = array.shape();
    if shape[1] != 2 {
        return Err(PyValueError::new_err(format!(
            "{arg}: expected a (k, 2) array of price, size rows, got shape {shape:?}"
        )));
    }
    array
        .try_readonly()
        .map_err(|err| PyValueError::new_err(format!("{arg}: {err}")))
}

#[pymethods]
impl PaperSim {
    /// A venue with no orders and no book view; `queue_model` is `"conservative"` or
    /// `"probabilistic"`; at most `max_open_orders` resting orders per symbol.
    #[new]
    #[pyo3(signature = (tick_size, *, lot_size=1e-8, entry_latency_s=0.005,
                        cancel_latency_s=0.005, response_latency_s=0.005, feed_latency_s=0.0,
                        latency_jitter_s=0.0, seed=0, queue_model="conservative",
                        queue_power=2.0, maker_fee_bps=1.0, taker_fee_bps=5.0, name="paper",
                        max_open_orders=200))]
    #[allow(clippy::too_many_arguments)]
    fn new(
        tick_size: f64,
        lot_size: f64,
        entry_latency_s: f64,
        cancel_latency_s: f64,
        response_latency_s: f64,
        feed_latency_s: f64,
        latency_jitter_s: f64,
        seed: u64,
        queue_model: &str,
        queue_power: f64,
        maker_fee_bps: f64,
        taker_fee_bps: f64,
        name: &str,
        max_open_orders: i64,
    ) -> PyResult<Self> {
        let max_open_orders = usize::try_from(max_open_orders).map_err(|_| {
            PyValueError::new_err(format!(
                "max_open_orders: must be >= 1, got {max_open_orders}"
            ))
        })?;
        let probabilistic = match queue_model {
            "conservative" => false,
            "probabilistic" => true,
            other => {
                return Err(PyValueError::new_err(format!(
                    "queue_model: expected 'conservative' or 'probabilistic', got {other:?}"
                )))
            }
        };
        let inner = paper::PaperSim::new(PaperConfig {
            entry_latency_s,
            cancel_latency_s,
            response_latency_s,
            probabilistic,
            queue_power,
            maker_fee_bps,
            taker_fee_bps,
            tick_size,
            lot_size,
            feed_latency_s,
            latency_jitter_s,
            seed,
            name: name.to_owned(),
            max_open_orders,
        })?;
        Ok(PaperSim {
            inner,
            prefixes: Prefixes::default(),
        })
    }

    /// Sends a new limit order (`side` +1 buy, -1 sell, `qty` > 0, rounded to the nearest
    /// lot); it reaches the venue after the entry latency. The venue simulates one instrument:
    /// an order for another symbol than its first order's is refused.
    #[allow(clippy::too_many_arguments)]
    fn submit(
        &mut self,
        client_id: String,
        symbol: String,
        side: i64,
        price_ticks: i64,
        qty: f64,
        post_only: bool,
        now: f64,
    ) -> PyResult<()> {
        let side = paper::Side::from_sign(side).ok_or_else(|| {
            PyValueError::new_err(format!("side: must be +1 (buy) or -1 (sell), got {side}"))
        })?;
        let order = NewOrder {
            client_id: self.prefixes.parse(&client_id),
            symbol,
            side,
            price_ticks: Price(price_ticks),
            qty: self.inner.lot().lots("qty", qty, Rounding::Nearest)?,
            post_only,
        };
        Ok(self.inner.submit(order, now)?)
    }

    /// Sends a cancel; it lands after the cancel latency (the order may fill until then).
    fn cancel(&mut self, client_id: &str, now: f64) -> PyResult<()> {
        let client_id = self.prefixes.parse(client_id);
        Ok(self.inner.cancel(client_id, now)?)
    }

    /// Sends an amend reducing the order `client_id` to `qty` in total (filled part included,
    /// > 0, rounded to the nearest lot); it lands after the cancel latency. The order keeps
    /// its queue position; one that filled `qty` or more by then is cancelled; an order not
    /// resting, or a `qty` that does not reduce it, gets an amend reject.
    fn amend(&mut self, client_id: &str, qty: f64, now: f64) -> PyResult<()> {
        let qty = self.inner.lot().lots("qty", qty, Rounding::Nearest)?;
        let client_id = self.prefixes.parse(client_id);
        Ok(self.inner.amend(client_id, qty, now)?)
    }

    /// Processes orders and cancels that have reached the venue by `now`.
    fn advance(&mut self, now: f64) {
        self.inner.advance(now);
    }

    /// Responses that have reached us by `now`, as tuples, in order.
    fn poll<'py>(&mut self, py: Python<'py>, now: f64) -> PyResult<Bound<'py, PyList>> {
        let out = PyList::empty(py);
        if !self.inner.has_due(now) {
            return Ok(out);
        }
        while let Some(event) = self.inner.pop_ready(now) {
            if let Some(fill) = event.fill_fields() {
                let (cid, ts, fill_id, side, price, qty, fee, maker) = fill_tuple(
                    &self.inner.config().name,
                    self.inner.lot(),
                    &self.prefixes,
                    fill,
                );
                out.append((2u8, cid, ts, fill_id, side, price, qty, fee, maker))?;
                continue;
            }
            let item = match event {
                Event::Acked { client_id, ts } => {
                    let client_id = self.prefixes.format(client_id);
                    let venue_id = self.inner.venue_id(&client_id);
                    (0u8, client_id, ts, venue_id).into_pyobject(py)?.into_any()
                }
                Event::Rejected {
                    client_id,
                    ts,
                    reason,
                } => (1u8, self.prefixes.format(client_id), ts, reason)
                    .into_pyobject(py)?
                    .into_any(),
                Event::Filled { .. } => continue, // appended above
                Event::Cancelled { client_id, ts } => (3u8, self.prefixes.format(client_id), ts)
                    .into_pyobject(py)?
                    .into_any(),
                Event::CancelRejected {
                    client_id,
                    ts,
                    reason,
                } => (4u8, self.prefixes.format(client_id), ts, reason)
                    .into_pyobject(py)?
                    .into_any(),
                Event::Amended { client_id, ts, qty } => {
                    let qty = self.inner.lot().units(qty);
                    (5u8, self.prefixes.format(client_id), ts, qty)
                        .into_pyobject(py)?
                        .into_any()
                }
                Event::AmendRejected {
                    client_id,
                    ts,
                    reason,
                } => (6u8, self.prefixes.format(client_id), ts, reason)
                    .into_pyobject(py)?
                    .into_any(),
            };
            out.append(item)?;
        }
        Ok(out)
    }

    /// A market trade at `now` (size rounded down to whole lots): fills the resting orders it
    /// reaches, best price first.
    fn on_trade(
        &mut self,
        price_ticks: i64,
        qty: f64,
        buyer_aggressor: bool,
        now: f64,
    ) -> PyResult<()> {
        let qty = self.inner.lot().lots("qty", qty, Rounding::Down)?;
        Ok(self
            .inner
            .on_trade(Price(price_ticks), qty, buyer_aggressor, now)?)
    }

    /// The visible book at `now` as `(k, 2)` price, size arrays, best first (what
    /// `OrderBook.bids(n)` / `asks(n)` return). The arrays are copied.
    fn on_book(
        &mut self,
        bids: &Bound<'_, PyAny>,
        asks: &Bound<'_, PyAny>,
        now: f64,
    ) -> PyResult<()> {
        let bids = book_rows(bids, "bids")?;
        let asks = book_rows(asks, "asks")?;
        let bids = bids.as_array();
        let asks = asks.as_array();
        let bid_rows = bids.outer_iter().map(|row| (row[0], row[1]));
        let ask_rows = asks.outer_iter().map(|row| (row[0], row[1]));
        Ok(self.inner.on_book(bid_rows, ask_rows, now)?)
    }

    /// The visible book at `now`: the top `levels` of each side of `book`, read directly as
    /// the book's integers and converted exactly to ticks and lots (a size that is not a whole
    /// number of lots counts rounded down as liquidity, rounded up as queue ahead).
    fn on_book_from(&mut self, book: PyRef<'_, OrderBook>, levels: i64, now: f64) -> PyResult<()> {
        let levels = usize::try_from(levels)
            .map_err(|_| PyValueError::new_err(format!("levels: must be >= 0, got {levels}")))?;
        let book = book.inner.book();
        Ok(self.inner.on_book_scaled(
            book.scaled_levels(BookSide::Bid, levels),
            book.scaled_levels(BookSide::Ask, levels),
            book.price_scale,
            book.qty_scale,
            now,
        )?)
    }

    /// Client ids resting (or in flight) at the venue for `symbol`.
    fn open_orders<'py>(&self, py: Python<'py>, symbol: &str) -> PyResult<Bound<'py, PySet>> {
        PySet::new(
            py,
            self.inner
                .open_orders(symbol)
                .map(|id| self.prefixes.format(id)),
        )
    }

    /// Fills executed (maker and taker).
    #[getter]
    fn fills(&self) -> u64 {
        self.inner.fills()
    }

    /// Orders rejected (post-only crossing, duplicate client id, too many open orders).
    #[getter]
    fn rejects(&self) -> u64 {
        self.inner.rejects()
    }

    /// The venue's name (prefix of venue and fill ids).
    #[getter]
    fn name(&self) -> &str {
        &self.inner.config().name
    }

    #[getter]
    fn tick_size(&self) -> f64 {
        self.inner.config().tick_size
    }

    /// The lot every size is counted in (base units).
    #[getter]
    fn lot_size(&self) -> f64 {
        self.inner.lot().size()
    }

    /// The instrument simulated (None before the first order).
    #[getter]
    fn symbol(&self) -> Option<&str> {
        self.inner.symbol()
    }

    fn __repr__(&self) -> String {
        let cfg = self.inner.config();
        format!(
            "PaperSim({:?}, tick_size={}, queue_model={:?}, fills={}, rejects={})",
            cfg.name,
            cfg.tick_size,
            if cfg.probabilistic {
                "probabilistic"
            } else {
                "conservative"
            },
            self.inner.fills(),
            self.inner.rejects()
        )
    }
}
