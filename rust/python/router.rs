//! `BookRouter`: many symbols of one venue behind one call per message, routed in Rust.

use numpy::{IntoPyArray, PyArray1, PyArray2};
use std::collections::HashMap;

use pyo3::exceptions::{PyKeyError, PyRuntimeError, PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyString};

use super::errors::payload_bytes;
use super::order_book::{config_from, matrix, replay_rows, venue_from, OrderBook};
use super::status::{status_object, ApplyStatus};
use crate::router::Routing;
use crate::symbol_book::{Status, SymbolBook};

/// Routes payloads of a multi-symbol connection (Binance combined streams, Bybit and OKX
/// multi-topic subscriptions) to one `OrderBook` per symbol; decoding, lookup and the refusal
/// counters are the Rust core's `Routing`.
#[pyclass(module = "mmcore._core")]
pub struct BookRouter {
    routing: Routing,
    books: Vec<Py<OrderBook>>,
    names: Vec<Py<PyString>>,
}

/// `vpin_bucket_volume` of a router: one volume for every symbol, or one per symbol.
enum BucketVolumes {
    All(Option<f64>),
    PerSymbol(HashMap<String, f64>),
}

impl BucketVolumes {
    fn from_py(value: Option<&Bound<'_, PyAny>>, symbols: &[String]) -> PyResult<Self> {
        let Some(value) = value.filter(|v| !v.is_none()) else {
            return Ok(BucketVolumes::All(None));
        };
        if let Ok(volume) = value.extract::<f64>() {
            return Ok(BucketVolumes::All(Some(volume)));
        }
        let map: HashMap<String, f64> = value.extract().map_err(|_| {
            PyTypeError::new_err("vpin_bucket_volume: a number or a {symbol: number} mapping")
        })?;
        if let Some(unknown) = map.keys().find(|k| !symbols.contains(k)) {
            return Err(PyValueError::new_err(format!(
                "vpin_bucket_volume: {unknown:?} is not one of the symbols"
            )));
        }
        Ok(BucketVolumes::PerSymbol(map))
    }

    /// The symbol's volume; a symbol left out of a mapping derives its own (`None`).
    fn get(&self, symbol: &str) -> Option<f64> {
        match self {
            BucketVolumes::All(volume) => *volume,
            BucketVolumes::PerSymbol(map) => map.get(symbol).copied(),
        }
    }
}

/// A Python error, never a panic, when a book is in use elsewhere (a re-entrant or concurrent
/// call).
fn busy(symbol: &str) -> PyErr {
    PyRuntimeError::new_err(format!(
        "the OrderBook of {symbol:?} is in use by another call; payload not applied"
    ))
}

impl BookRouter {
    /// Decodes once and applies to the symbol's book: `(book index, status)`.
    fn route(&mut self, py: Python<'_>, payload: &[u8]) -> PyResult<(Option<usize>, Status)> {
        let Some(target) = self.routing.target(payload)? else {
            return Ok((None, Status::Ignored));
        };
        let i = target.index;
        let mut book = self.books[i]
            .bind(py)
            .try_borrow_mut()
            .map_err(|_| busy(&self.routing.index().symbols()[i]))?;
        let status = self.routing.apply(&mut book.inner, &target)?;
        Ok((Some(i), status))
    }
}

#[pymethods]
impl BookRouter {
    /// One book per symbol of `symbols` on `venue`; keyword options as for `OrderBook`.
    #[new]
    #[pyo3(signature = (venue, symbols, *, tick_size=None, lot_size=None, max_buffer=1024,
                        vol_halflife=100.0, vpin_bucket_volume=None, vpin_buckets=50,
                        vpin_calibration_trades=0))]
    #[allow(clippy::too_many_arguments)]
    fn new(
        py: Python<'_>,
        venue: &str,
        symbols: Vec<String>,
        tick_size: Option<&Bound<'_, PyAny>>,
        lot_size: Option<&Bound<'_, PyAny>>,
        max_buffer: usize,
        vol_halflife: f64,
        vpin_bucket_volume: Option<&Bound<'_, PyAny>>,
        vpin_buckets: usize,
        vpin_calibration_trades: u64,
    ) -> PyResult<Self> {
        let venue = venue_from(venue)?;
        let routing = Routing::new(venue, &symbols)?;
        let bucket_volumes = BucketVolumes::from_py(vpin_bucket_volume, &symbols)?;
        let mut books = Vec::with_capacity(symbols.len());
        let mut names = Vec::with_capacity(symbols.len());
        for symbol in &symbols {
            let config = config_from(
                tick_size,
                lot_size,
                max_buffer,
                vol_halflife,
                bucket_volumes.get(symbol),
                vpin_calibration_trades,
                vpin_buckets,
            )?;
            let inner = SymbolBook::new(symbol, venue, config)?;
            books.push(Py::new(py, OrderBook::wrap(inner))?);
            names.push(PyString::new(py, symbol).unbind());
        }
        Ok(BookRouter {
            routing,
            books,
            names,
        })
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
        &mut self,
        py: Python<'_>,
        symbol: &str,
        payload: &Bound<'_, PyAny>,
    ) -> PyResult<Py<ApplyStatus>> {
        let book = self.book(py, symbol)?.into_bound(py);
        let mut book = book.try_borrow_mut().map_err(|_| busy(symbol))?;
        let status = self
            .routing
            .apply_snapshot(&mut book.inner, payload_bytes(payload)?)?;
        status_object(py, status)
    }

    /// The `OrderBook` of `symbol` (the same object on every call).
    fn book(&self, py: Python<'_>, symbol: &str) -> PyResult<Py<OrderBook>> {
        self.routing
            .index()
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
                            .try_borrow()
                            .map_or([f64::NAN; crate::features::N_FEATURES], |book| {
                                book.inner.features(depth, band_bps)
                            }),
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
        self.routing.index().symbols().to_vec()
    }

    #[getter]
    fn venue(&self) -> &'static str {
        self.routing.venue().name()
    }

    /// Payloads that reached no book (acks, pongs, unknown symbols or channels).
    #[getter]
    fn unrouted(&self) -> u64 {
        self.routing.counters().unrouted
    }

    /// Payloads that failed to decode before routing.
    #[getter]
    fn malformed(&self) -> u64 {
        self.routing.counters().malformed
    }

    /// Every counter by name: `routed`, `unrouted`, `unknown_symbol`, `malformed`, and one
    /// `refused_<kind>` per `DECODE_ERROR_KINDS` entry (grid and scale errors, missing `pu`,
    /// duplicate prices, malformed payloads...).
    fn counters<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let dict = PyDict::new(py);
        for (name, value) in self.routing.counters().items() {
            dict.set_item(name, value)?;
        }
        Ok(dict)
    }
}
