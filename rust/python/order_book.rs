//! `OrderBook`: one symbol's synced L2 book, fed raw venue payloads.

use numpy::ndarray::Array2;
use numpy::{IntoPyArray, PyArray1, PyArray2};
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyString};

use super::errors::payload_bytes;
use super::features::{Features, Recycled};
use super::status::{status_object, ApplyStatus, BookState};
use crate::book::{Ladder, Side};
use crate::features::{FeatureRow, N_FEATURES};
use crate::fixed::{scaled_to_f64, Decimal};
use crate::symbol_book::{Config, Status, SymbolBook, Venue};

/// `(statuses, features)` of a batch replay.
type Replayed<'py> = (Bound<'py, PyArray1<u8>>, Bound<'py, PyArray2<f64>>);

/// A local L2 order book for one symbol, kept in sync from raw exchange payloads.
#[pyclass(module = "mmcore._core")]
pub struct OrderBook {
    pub inner: SymbolBook,
    /// The record `features` hands out, reused once the caller has let go of it.
    features_out: Recycled,
}

impl OrderBook {
    /// A Python book around a core book.
    pub fn wrap(inner: SymbolBook) -> Self {
        OrderBook {
            inner,
            features_out: Recycled::default(),
        }
    }
}

/// Parses a grid size given as str, int, float or Decimal, exactly.
fn grid_size(value: Option<&Bound<'_, PyAny>>, name: &str) -> PyResult<Option<Decimal>> {
    let Some(value) = value else { return Ok(None) };
    let py = value.py();
    // str(Decimal(str(x))) in fixed notation: floats like 1e-05 become "0.00001".
    let text = value.str()?.to_string();
    let fixed = py
        .import("decimal")
        .and_then(|m| m.getattr("Decimal")?.call1((&text,)))
        .and_then(|d| {
            PyString::new(py, "{:f}")
                .call_method1("format", (d,))?
                .extract::<String>()
        })
        .map_err(|_| PyValueError::new_err(format!("{name}: not a decimal number: {text:?}")))?;
    let text = fixed;
    match Decimal::parse(text.as_bytes()) {
        Ok(d) if d.mantissa > 0 => Ok(Some(d)),
        _ => Err(PyValueError::new_err(format!(
            "{name}: must be a positive decimal, got {text:?}"
        ))),
    }
}

pub fn venue_from(name: &str) -> PyResult<Venue> {
    Venue::parse(name).ok_or_else(|| {
        let names: Vec<&str> = Venue::ALL.iter().map(|(_, n)| *n).collect();
        PyValueError::new_err(format!(
            "venue: unknown {name:?}; expected one of {}",
            names.join(", ")
        ))
    })
}

/// Book options shared by `OrderBook` and `BookRouter`.
#[allow(clippy::too_many_arguments)]
pub fn config_from(
    tick_size: Option<&Bound<'_, PyAny>>,
    lot_size: Option<&Bound<'_, PyAny>>,
    max_buffer: usize,
    vol_halflife: f64,
    vpin_bucket_volume: Option<f64>,
    vpin_calibration_trades: u64,
    vpin_buckets: usize,
) -> PyResult<Config> {
    if max_buffer == 0 {
        return Err(PyValueError::new_err("max_buffer: must be >= 1"));
    }
    if !(vol_halflife.is_finite() && vol_halflife > 0.0) {
        return Err(PyValueError::new_err(format!(
            "vol_halflife: must be > 0, got {vol_halflife}"
        )));
    }
    if let Some(v) = vpin_bucket_volume.filter(|v| !(v.is_finite() && *v > 0.0)) {
        return Err(PyValueError::new_err(format!(
            "vpin_bucket_volume: must be > 0, got {v}"
        )));
    }
    if vpin_buckets == 0 {
        return Err(PyValueError::new_err("vpin_buckets: must be >= 1"));
    }
    Ok(Config {
        max_buffer,
        tick_size: grid_size(tick_size, "tick_size")?,
        lot_size: grid_size(lot_size, "lot_size")?,
        vol_halflife,
        vpin_bucket_volume,
        vpin_calibration_trades,
        vpin_buckets,
    })
}

fn levels<'py>(
    py: Python<'py>,
    inner: &SymbolBook,
    side: Side,
    n: usize,
) -> Bound<'py, PyArray2<f64>> {
    let book = inner.book();
    let ladder: &Ladder = book.side(side);
    let mut values = Vec::with_capacity(n.min(ladder.len()) * 2);
    for (price, size) in book.float_levels(side, n) {
        values.push(price);
        values.push(size);
    }
    let rows = values.len() / 2;
    Array2::from_shape_vec((rows, 2), values)
        .expect("rows * 2 values")
        .into_pyarray(py)
}

/// Applies every payload of a Python sequence through `apply`, recording a status and a features
/// row each; malformed payloads are counted and recorded as `MALFORMED`.
pub fn replay_rows(
    payloads: &Bound<'_, PyAny>,
    mut apply: impl FnMut(&[u8]) -> (Status, Option<FeatureRow>),
) -> PyResult<(Vec<u8>, Vec<f64>)> {
    let count = payloads.len().unwrap_or(0);
    let mut statuses = Vec::with_capacity(count);
    let mut rows = Vec::with_capacity(count * N_FEATURES);
    for item in payloads.try_iter()? {
        let item = item?;
        let (status, row) = apply(payload_bytes(&item)?);
        statuses.push(status as u8);
        rows.extend_from_slice(&row.unwrap_or([f64::NAN; N_FEATURES]));
    }
    Ok((statuses, rows))
}

pub fn matrix<'py>(py: Python<'py>, rows: Vec<f64>) -> Bound<'py, PyArray2<f64>> {
    let n = rows.len() / N_FEATURES;
    Array2::from_shape_vec((n, N_FEATURES), rows)
        .expect("n * N_FEATURES values")
        .into_pyarray(py)
}

#[pymethods]
impl OrderBook {
    /// Creates an empty, unsynced book for `symbol` on `venue` (one of `VENUES`).
    ///
    /// Without `tick_size`/`lot_size` the book works at the precision of the strings; with
    /// them, prices and sizes off that grid are refused with `DecodeError`.
    #[new]
    #[pyo3(signature = (symbol, venue, *, tick_size=None, lot_size=None, max_buffer=1024,
                        vol_halflife=100.0, vpin_bucket_volume=None, vpin_buckets=50,
                        vpin_calibration_trades=0))]
    #[allow(clippy::too_many_arguments)]
    fn new(
        symbol: &str,
        venue: &str,
        tick_size: Option<&Bound<'_, PyAny>>,
        lot_size: Option<&Bound<'_, PyAny>>,
        max_buffer: usize,
        vol_halflife: f64,
        vpin_bucket_volume: Option<f64>,
        vpin_buckets: usize,
        vpin_calibration_trades: u64,
    ) -> PyResult<Self> {
        if symbol.is_empty() {
            return Err(PyValueError::new_err("symbol: must not be empty"));
        }
        let config = config_from(
            tick_size,
            lot_size,
            max_buffer,
            vol_halflife,
            vpin_bucket_volume,
            vpin_calibration_trades,
            vpin_buckets,
        )?;
        let inner = SymbolBook::new(symbol, venue_from(venue)?, config)?;
        Ok(OrderBook::wrap(inner))
    }

    /// Applies one websocket payload (bytes or str; raw or a Binance combined-stream wrapper).
    /// Raises `DecodeError` on malformed input, leaving the book unchanged.
    fn apply(&mut self, py: Python<'_>, payload: &Bound<'_, PyAny>) -> PyResult<Py<ApplyStatus>> {
        let status = self.inner.apply(payload_bytes(payload)?)?;
        status_object(py, status)
    }

    /// Applies a REST depth snapshot body (Binance `/api/v3/depth`, `/fapi/v1/depth`,
    /// `/dapi/v1/depth`; OKX `/api/v5/market/books`) and replays the buffered diffs.
    fn apply_snapshot(
        &mut self,
        py: Python<'_>,
        payload: &Bound<'_, PyAny>,
    ) -> PyResult<Py<ApplyStatus>> {
        let status = self.inner.apply_snapshot(payload_bytes(payload)?)?;
        status_object(py, status)
    }

    /// Best bid as `(price, size)`, or None.
    fn best_bid(&self) -> Option<(f64, f64)> {
        let book = self.inner.book();
        book.best_bid().map(|(p, q)| {
            (
                scaled_to_f64(p as u64, book.price_scale),
                scaled_to_f64(q, book.qty_scale),
            )
        })
    }

    /// Best ask as `(price, size)`, or None.
    fn best_ask(&self) -> Option<(f64, f64)> {
        let book = self.inner.book();
        book.best_ask().map(|(p, q)| {
            (
                scaled_to_f64(p as u64, book.price_scale),
                scaled_to_f64(q, book.qty_scale),
            )
        })
    }

    /// The best `n` bids as a float64 array of shape `(k, 2)`: price, size; best first.
    #[pyo3(signature = (n=10))]
    fn bids<'py>(&self, py: Python<'py>, n: usize) -> Bound<'py, PyArray2<f64>> {
        levels(py, &self.inner, Side::Bid, n)
    }

    /// The best `n` asks as a float64 array of shape `(k, 2)`: price, size; best first.
    #[pyo3(signature = (n=10))]
    fn asks<'py>(&self, py: Python<'py>, n: usize) -> Bound<'py, PyArray2<f64>> {
        levels(py, &self.inner, Side::Ask, n)
    }

    /// Features over the top `depth` levels; depth bands are ±`band_bps` around mid.
    #[pyo3(signature = (depth=5, band_bps=None))]
    fn features(
        &mut self,
        py: Python<'_>,
        depth: usize,
        band_bps: Option<f64>,
    ) -> PyResult<Py<Features>> {
        let row = self.inner.features(depth, band_bps);
        self.features_out.record(py, &row)
    }

    /// Applies many payloads (replay); returns `(statuses: uint8[n], features: float64[n, F])`
    /// with the features after each payload. Malformed payloads are skipped with `MALFORMED`.
    #[pyo3(signature = (payloads, depth=5, band_bps=None))]
    fn replay<'py>(
        &mut self,
        py: Python<'py>,
        payloads: &Bound<'py, PyAny>,
        depth: usize,
        band_bps: Option<f64>,
    ) -> PyResult<Replayed<'py>> {
        let inner = &mut self.inner;
        let (statuses, rows) = replay_rows(payloads, |bytes| {
            let status = inner.apply(bytes).unwrap_or(Status::Malformed);
            (status, Some(inner.features(depth, band_bps)))
        })?;
        Ok((statuses.into_pyarray(py), matrix(py, rows)))
    }

    /// Drops the book and buffered diffs; the book waits for a new snapshot. Counters are kept.
    fn reset(&mut self) {
        self.inner.reset();
    }

    /// Every counter by name.
    fn counters<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let dict = PyDict::new(py);
        for (name, value) in self.inner.counters().items() {
            dict.set_item(name, value)?;
        }
        Ok(dict)
    }

    /// Last best bid/offer from a ticker stream: `(bid, bid_size, ask, ask_size, update_id)`.
    fn ticker(&self) -> Option<(f64, f64, f64, f64, Option<i64>)> {
        self.inner.ticker()
    }

    /// `SYNCED` once a snapshot applied and every diff since was continuous.
    #[getter]
    fn state(&self) -> BookState {
        if self.inner.is_synced() {
            BookState::SYNCED
        } else {
            BookState::UNSYNCED
        }
    }

    #[getter]
    fn symbol(&self) -> &str {
        &self.inner.symbol
    }

    #[getter]
    fn venue(&self) -> &'static str {
        self.inner.venue.name()
    }

    /// Id of the last applied update (Binance `u`, Bybit `u`, OKX `seqId`), or None.
    #[getter]
    fn last_update_id(&self) -> Option<i64> {
        self.inner.last_update_id()
    }

    /// Venue event time (ms) of the last applied message, or None.
    #[getter]
    fn last_event_time_ms(&self) -> Option<i64> {
        self.inner.event_time_ms()
    }

    #[getter]
    fn is_crossed(&self) -> bool {
        self.inner.book().is_crossed()
    }

    /// Number of price levels on each side: `(bids, asks)`.
    #[getter]
    fn depth(&self) -> (usize, usize) {
        let book = self.inner.book();
        (book.bids.len(), book.asks.len())
    }

    /// Decimals of the integer price and size representation.
    #[getter]
    fn scales(&self) -> (u8, u8) {
        let book = self.inner.book();
        (book.price_scale, book.qty_scale)
    }

    /// Diffs waiting for a snapshot.
    #[getter]
    fn buffered_len(&self) -> usize {
        self.inner.buffered_len()
    }

    /// Heap bytes held by the book (levels, buffer, scratch).
    #[getter]
    fn heap_bytes(&self) -> usize {
        self.inner.heap_bytes()
    }

    #[getter]
    fn applied(&self) -> u64 {
        self.inner.counters().applied
    }

    #[getter]
    fn stale(&self) -> u64 {
        self.inner.counters().stale
    }

    #[getter]
    fn gaps(&self) -> u64 {
        self.inner.counters().gaps
    }

    #[getter]
    fn buffered(&self) -> u64 {
        self.inner.counters().buffered
    }

    #[getter]
    fn malformed(&self) -> u64 {
        self.inner.counters().malformed
    }

    fn __repr__(&self) -> String {
        let book = self.inner.book();
        format!(
            "OrderBook({:?}, {:?}, state={}, bids={}, asks={}, last_update_id={})",
            self.inner.symbol,
            self.inner.venue.name(),
            if self.inner.is_synced() {
                "SYNCED"
            } else {
                "UNSYNCED"
            },
            book.bids.len(),
            book.asks.len(),
            self.inner
                .last_update_id()
                .map_or("None".to_owned(), |id| id.to_string())
        )
    }
}
