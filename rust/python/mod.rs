//! pyo3 wrappers: convert and delegate, one file per exposed class.

mod desk;
mod engine;
mod errors;
mod features;
mod order_book;
mod paper;
mod portfolio;
mod quoter;
mod risk;
mod risk_gate;
mod router;
mod status;

use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyList, PyTuple};

use crate::decode::ErrorKind;
use crate::features::FEATURE_NAMES;
use crate::symbol_book::Venue;

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    let py = m.py();
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    m.add("DecodeError", py.get_type::<errors::DecodeError>())?;
    m.add(
        "DECODE_ERROR_KINDS",
        PyTuple::new(py, ErrorKind::ALL.map(ErrorKind::name))?,
    )?;
    m.add("FEATURE_NAMES", PyTuple::new(py, FEATURE_NAMES)?)?;
    m.add(
        "VENUES",
        PyTuple::new(py, Venue::ALL.map(|(_, name)| name))?,
    )?;
    m.add_class::<status::ApplyStatus>()?;
    m.add_class::<status::BookState>()?;
    m.add_class::<features::Features>()?;
    m.add_class::<order_book::OrderBook>()?;
    m.add_class::<router::BookRouter>()?;
    m.add_class::<paper::PaperSim>()?;
    m.add_class::<desk::OrderDesk>()?;
    m.add_class::<risk_gate::PreTradeGate>()?;
    m.add_class::<risk::RiskCore>()?;
    m.add_class::<portfolio::PositionCore>()?;
    m.add_class::<engine::EngineCore>()?;
    m.add_class::<engine::FlowSignal>()?;
    m.add_function(wrap_pyfunction!(engine::fair_price, m)?)?;
    m.add_function(wrap_pyfunction!(engine::ladder_prices, m)?)?;
    m.add_class::<quoter::QuoteCore>()?;
    m.add_function(wrap_pyfunction!(quoter::glft, m)?)?;
    m.add_function(wrap_pyfunction!(quoter::avellaneda_stoikov, m)?)?;
    m.add_function(wrap_pyfunction!(quoter::fit_intensity, m)?)?;
    m.add_function(wrap_pyfunction!(synthetic_binance_stream, m)?)?;
    features::check_names()
}

/// The deterministic synthetic Binance spot diff-depth stream (see `rust/synthetic.rs`):
/// `(snapshot_body, [depthUpdate payloads])`, ids contiguous from the snapshot.
#[pyfunction]
#[pyo3(signature = (events=200_000, levels=1000, changes=6, seed=1))]
fn synthetic_binance_stream<'py>(
    py: Python<'py>,
    events: usize,
    levels: usize,
    changes: usize,
    seed: u64,
) -> PyResult<(Bound<'py, PyBytes>, Bound<'py, PyList>)> {
    if levels < 10 {
        return Err(PyValueError::new_err(format!(
            "levels must be >= 10, got {levels}"
        )));
    }
    if changes < 1 {
        return Err(PyValueError::new_err(format!(
            "changes must be >= 1, got {changes}"
        )));
    }
    let (snapshot, stream) = crate::synthetic::binance_stream(events, levels, changes, seed);
    let payloads = PyList::new(py, stream.iter().map(|s| PyBytes::new(py, s.as_bytes())))?;
    Ok((PyBytes::new(py, snapshot.as_bytes()), payloads))
}
