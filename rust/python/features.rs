//! The `Features` record: one named `float` attribute per column of `FEATURE_NAMES`.

use pyo3::exceptions::PyImportError;
use pyo3::prelude::*;
use pyo3::types::PyDict;

use crate::features::{FeatureRow, FEATURE_NAMES};

macro_rules! record {
    ($($name:ident),* $(,)?) => {
        /// A features snapshot of one book (NaN where undefined). Prices and sizes are floats
        /// in the venue's units; `*_bps` in basis points of mid.
        ///
        /// Not `frozen` only so that [`Recycled`] can rewrite a record nobody else holds; Python
        /// sees read-only attributes either way.
        #[pyclass(get_all, module = "mmcore._core")]
        #[derive(Clone, Debug)]
        pub struct Features {
            $(pub $name: f64,)*
        }

        const NAMES: &[&str] = &[$(stringify!($name)),*];

        impl Features {
            pub fn from_row(row: &FeatureRow) -> Self {
                let mut values = row.iter().copied();
                Features { $($name: values.next().unwrap_or(f64::NAN),)* }
            }

            /// Overwrites every attribute with `row`'s columns.
            fn set_row(&mut self, row: &FeatureRow) {
                let mut values = row.iter().copied();
                $(self.$name = values.next().unwrap_or(f64::NAN);)*
            }

            fn values(&self) -> Vec<f64> {
                vec![$(self.$name),*]
            }
        }
    };
}

record!(
    best_bid,
    best_ask,
    bid_size,
    ask_size,
    mid,
    spread,
    spread_bps,
    microprice,
    imbalance,
    bid_depth,
    ask_depth,
    bid_band_depth,
    ask_band_depth,
    ofi,
    ofi_total,
    volatility_bps,
    buy_volume,
    sell_volume,
    vpin,
    trade_count,
    crossed,
    synced,
    event_time_ms,
);

/// Hands out `Features` records, reusing the previous one when its only reference is the one
/// kept here: the caller has dropped it, so nothing can observe the rewrite (CPython's `zip`
/// reuses its result tuple the same way). A `features()` call per update then allocates and
/// frees no Python object; a record the caller still holds is never touched.
#[derive(Default)]
pub struct Recycled(Option<Py<Features>>);

impl Recycled {
    /// A record holding `row`: the previous one rewritten if unreferenced, else a new one.
    pub fn record(&mut self, py: Python<'_>, row: &FeatureRow) -> PyResult<Py<Features>> {
        if let Some(last) = &self.0 {
            // pyo3 deprecates this for the unsafe `ffi::Py_REFCNT`, and the crate forbids
            // unsafe code: the safe accessor reads the same count.
            #[allow(deprecated)]
            let unshared = last.get_refcnt(py) == 1;
            if unshared {
                if let Ok(mut features) = last.bind(py).try_borrow_mut() {
                    features.set_row(row);
                    return Ok(last.clone_ref(py));
                }
            }
        }
        let fresh = Py::new(py, Features::from_row(row))?;
        self.0 = Some(fresh.clone_ref(py));
        Ok(fresh)
    }
}

/// The Python attribute names must follow the core's column order.
pub fn check_names() -> PyResult<()> {
    if NAMES == FEATURE_NAMES.as_slice() {
        Ok(())
    } else {
        Err(PyImportError::new_err(
            "mmcore._core: Features attributes differ from FEATURE_NAMES",
        ))
    }
}

#[pymethods]
impl Features {
    /// The record as `{name: value}`.
    fn as_dict<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let dict = PyDict::new(py);
        for (name, value) in NAMES.iter().zip(self.values()) {
            dict.set_item(name, value)?;
        }
        Ok(dict)
    }

    fn __repr__(&self) -> String {
        let fields: Vec<String> = NAMES
            .iter()
            .zip(self.values())
            .map(|(n, v)| format!("{n}={v}"))
            .collect();
        format!("Features({})", fields.join(", "))
    }
}
