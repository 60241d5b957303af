//! mmcore core: exchange payloads in, synced L2 books and market features out.
//!
//! The pure-Rust core (decode, book, sync, features, flow, paper, quote, orders) has no pyo3 in it; the
//! `python` feature adds the bindings in `python/` and registers the `mmcore._core` module.

// Denied, not forbidden: the decoder's SSE2 block classification (`decode/block.rs`) is the one
// place allowed, for the call into its `#[target_feature]` function.
#![deny(unsafe_code)]

pub mod arg_error;
pub mod book;
pub mod decode;
pub mod engine;
pub mod features;
pub mod fixed;
pub mod flow;
pub mod model;
pub mod orders;
pub mod paper;
pub mod portfolio;
pub mod quote;
pub mod risk;
pub mod risk_gate;
pub mod router;
pub mod symbol_book;
pub mod sync;
#[cfg(feature = "synthetic")]
pub mod synthetic;

#[cfg(test)]
mod paper_properties;
#[cfg(test)]
mod properties;

#[cfg(feature = "python")]
mod python;

#[cfg(feature = "python")]
#[pyo3::pymodule]
fn _core(m: &pyo3::Bound<'_, pyo3::types::PyModule>) -> pyo3::PyResult<()> {
    python::register(m)
}
