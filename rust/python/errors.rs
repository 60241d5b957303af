//! Python exceptions raised by the extension.

use pyo3::create_exception;
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyString};

create_exception!(
    _core,
    DecodeError,
    PyValueError,
    "A payload that is malformed, truncated or does not fit; the message names the field and \
     `kind` says what was wrong (one of `DECODE_ERROR_KINDS`, e.g. `not_a_number`, \
     `missing_field`, `off_grid`, `duplicate_price`). The book is left exactly as it was."
);

impl From<crate::arg_error::ArgError> for PyErr {
    fn from(err: crate::arg_error::ArgError) -> PyErr {
        PyValueError::new_err(err.to_string())
    }
}

impl From<crate::decode::DecodeError> for PyErr {
    fn from(err: crate::decode::DecodeError) -> PyErr {
        Python::attach(|py| {
            let raised = DecodeError::new_err(err.message);
            match raised.value(py).setattr("kind", err.kind.name()) {
                Ok(()) => raised,
                Err(failed) => failed,
            }
        })
    }
}

/// The bytes of a `bytes`, `bytearray`-free `str` payload, without copying.
pub fn payload_bytes<'a>(payload: &'a Bound<'_, PyAny>) -> PyResult<&'a [u8]> {
    if let Ok(bytes) = payload.cast::<PyBytes>() {
        return Ok(bytes.as_bytes());
    }
    if let Ok(text) = payload.cast::<PyString>() {
        return Ok(text.to_str()?.as_bytes());
    }
    Err(pyo3::exceptions::PyTypeError::new_err(format!(
        "payload must be bytes or str, not {}",
        payload.get_type().name()?
    )))
}
