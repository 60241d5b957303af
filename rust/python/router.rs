//! `BookRouter`: many symbols of one venue behind one call per message, routed in Rust.

use numpy::{IntoPyArray, PyArray1, PyArray2};
use pyo3::exceptions::{PyKeyError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::PyString;

use super::errors::payload_bytes;
use super::order_book::{config_from, matrix, replay_rows, venue_from, OrderBook};
use super::status::{status_object, ApplyStatus};
use crate::decode::{self, DecodeError, Kind, Scratch};
use crate::router::SymbolIndex;
use crate::symbol_book::{Status, SymbolBook, Venue};

/// Routes payloads of a multi-symbol connection (Binance combined streams, Bybit and OKX
/// multi-topic subscriptions) to one `OrderBook` per symbol.
#[pyclass(module = "mmcore._core")]
pub struct BookRouter {
    venue: Venue,
    index: SymbolIndex,
    books: Vec<Py<OrderBook>>,
    names: Vec<Py<PyString>>,
    scratch: Scratch,
    unrouted: u64,
    malformed: u64,
}

impl BookRouter {
    /// Decodes once and applies to the symbol's book: `(book index, status)`.
    fn route(
        &mut self,
        py: Python<'_>,
        payload: &[u8],
    ) -> Result<(Option<usize>, Status), DecodeError> {
        let decoded = match decode::decode(self.venue.format(), payload, &mut self.scratch) {
            Ok(decoded) => decoded,
            Err(err) => {
                self.malformed += 1;
                return Err(err);
            }
        };
        let found = (decoded.kind != Kind::Other)
            .then(|| self.index.find(decoded.symbol))
            .flatten();
        let Some(i) = found else {
            self.unrouted += 1;
            return Ok((None, Status::Ignored));
        };
        let mut book = self.books[i].bind(py).borrow_mut();
        let status = book.inner.apply_decoded(&decoded, &self.scratch, false)?;
        Ok((Some(i), status))
    }
}

#[pymethods]
impl BookRouter {
    /// One book per symbol of `symbols` on `venue`; keyword options as for `OrderBook`.
    #[new]
    #[pyo3(signature = (venue, symbols, *, tick_size=None, lot_size=None, max_buffer=1024,
                        vol_halflife=100.0, vpin_bucket_volume=None, vpin_buckets=50))]
    #[allow(clippy::too_many_arguments)]
    fn new(
        py: Python<'_>,
        venue: &str,
        symbols: Vec<String>,
        tick_size: Option<&Bound<'_, PyAny>>,
        lot_size: Option<&Bound<'_, PyAny>>,
        max_buffer: usize,
        vol_halflife: f64,
        vpin_bucket_volume: Option<f64>,
        vpin_buckets: usize,
    ) -> PyResult<Self> {
        let venue = venue_from(venue)?;
        let config = config_from(
            tick_size,
            lot_size,
            max_buffer,
            vol_halflife,
            vpin_bucket_volume,
            vpin_buckets,
        )?;
        if symbols.is_empty() {
            return Err(PyValueError::new_err("symbols: need at least one"));
        }
        let mut router = BookRouter {
            venue,
            index: SymbolIndex::default(),
            books: Vec::new(),
            names: Vec::new(),
            scratch: Scratch::default(),
            unrouted: 0,
            malformed: 0,
        };
        for symbol in &symbols {
            if symbol.is_empty() {
                return Err(PyValueError::new_err("symbols: empty symbol"));
            }
            if router.index.add(symbol).is_none() {
                return Err(PyValueError::new_err(format!(
                    "symbols: {symbol:?} given twice"
                )));
            }
            let inner = SymbolBook::new(symbol, venue, config.clone())?;
            router.books.push(Py::new(py, OrderBook { inner })?);
            router.names.push(PyString::new(py, symbol).unbind());
        }
        Ok(router)
    }

    /// Applies one payload to its symbol's book: `(symbol, status)`; symbol is None when the
    /// payload is not for any book here (acks, pongs, other symbols or channels).
    /// Raises `DecodeError` on malformed input, leaving every book unchanged.
    fn apply(
        &mut self,
        py: Python<'_>,
        payload: &Bound<'_, PyAny>,
    ) -> PyResult<(Option<Py<PyString>>, Py<ApplyStatus>)> {
        let (index, status) = self.route(py, payload_bytes(payload)?)?;
        Ok((
            index.map(|i| self.names[i].clone_ref(py)),
            status_object(py, status)?,
        ))
    }

    /// Applies a REST depth snapshot body to `symbol`'s book.
    fn apply_snapshot(
        &self,
        py: Python<'_>,
        symbol: &str,
        payload: &Bound<'_, PyAny>,
    ) -> PyResult<Py<ApplyStatus>> {
        let mut book = self.book(py, symbol)?.into_bound(py).borrow_mut();
        let status = book.inner.apply_snapshot(payload_bytes(payload)?)?;
        status_object(py, status)
    }

    /// The `OrderBook` of `symbol` (the same object on every call).
    fn book(&self, py: Python<'_>, symbol: &str) -> PyResult<Py<OrderBook>> {
        self.index
            .find(symbol)
            .map(|i| self.books[i].clone_ref(py))
            .ok_or_else(|| PyKeyError::new_err(format!("symbol {symbol:?} is not routed here")))
    }

    /// Applies many payloads; returns `(symbol_index: int32[n] (-1: none), statuses: uint8[n],
    /// features: float64[n, F])`, features of the routed book after each payload (NaN: none).
    #[pyo3(signature = (payloads, depth=5, band_bps=None))]
    #[allow(clippy::type_complexity)]
    fn replay<'py>(
        &mut self,
        py: Python<'py>,
        payloads: &Bound<'py, PyAny>,
        depth: usize,
        band_bps: Option<f64>,
    ) -> PyResult<(
        Bound<'py, PyArray1<i32>>,
        Bound<'py, PyArray1<u8>>,
        Bound<'py, PyArray2<f64>>,
    )> {
        let mut symbols = Vec::new();
        let (statuses, rows) = replay_rows(payloads, |bytes| match self.route(py, bytes) {
            Ok((Some(i), status)) => {
                symbols.push(i as i32);
                (
                    status,
                    Some(
                        self.books[i]
                            .bind(py)
                            .borrow()
                            .inner
                            .features(depth, band_bps),
                    ),
                )
            }
            Ok((None, status)) => {
                symbols.push(-1);
                (status, None)
            }
            Err(_) => {
                symbols.push(-1);
                (Status::Malformed, None)
            }
        })?;
        Ok((
            symbols.into_pyarray(py),
            statuses.into_pyarray(py),
            matrix(py, rows),
        ))
    }

    /// Routed symbols, in order (the `symbol_index` of `replay`).
    #[getter]
    fn symbols(&self) -> Vec<String> {
        self.index.symbols().to_vec()
    }

    #[getter]
    fn venue(&self) -> &'static str {
        self.venue.name()
    }

    /// Payloads that reached no book (acks, pongs, unknown symbols or channels).
    #[getter]
    fn unrouted(&self) -> u64 {
        self.unrouted
    }

    /// Payloads that failed to decode before routing.
    #[getter]
    fn malformed(&self) -> u64 {
        self.malformed
    }
}
