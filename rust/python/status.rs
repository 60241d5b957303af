//! `ApplyStatus` and `BookState`, returned as cached singletons so the hot path allocates
//! nothing.

use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;

use crate::symbol_book::Status;

/// Outcome of applying one payload (an int-comparable enum).
#[allow(non_camel_case_types, clippy::upper_case_acronyms)]
#[pyclass(eq, eq_int, frozen, hash, module = "mmcore._core")]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ApplyStatus {
    /// The book changed (diff or snapshot applied, or OKX heartbeat accepted).
    APPLIED = 0,
    /// Not synced yet: the diff is kept for the next snapshot.
    BUFFERED = 1,
    /// Older than the book: dropped.
    STALE = 2,
    /// A message is missing: the book is unsynced until a new snapshot.
    GAP = 3,
    /// The REST snapshot predates the buffered diffs: fetch it again.
    SNAPSHOT_TOO_OLD = 4,
    /// OKX checksum differs: the book is unsynced until a new snapshot.
    CHECKSUM_MISMATCH = 5,
    /// Not a message for this book (other symbol, ack, pong, other channel).
    IGNORED = 6,
    /// Trades recorded into the flow features.
    TRADE = 7,
    /// Best bid/offer ticker recorded.
    TICKER = 8,
    /// Buffered, and the oldest buffered diff was dropped to stay within `max_buffer`.
    BUFFER_OVERFLOW = 9,
    /// Batch results only: the payload was malformed and skipped.
    MALFORMED = 10,
}

const ALL: [ApplyStatus; 11] = [
    ApplyStatus::APPLIED,
    ApplyStatus::BUFFERED,
    ApplyStatus::STALE,
    ApplyStatus::GAP,
    ApplyStatus::SNAPSHOT_TOO_OLD,
    ApplyStatus::CHECKSUM_MISMATCH,
    ApplyStatus::IGNORED,
    ApplyStatus::TRADE,
    ApplyStatus::TICKER,
    ApplyStatus::BUFFER_OVERFLOW,
    ApplyStatus::MALFORMED,
];

static INSTANCES: PyOnceLock<Vec<Py<ApplyStatus>>> = PyOnceLock::new();

/// The shared Python object for a core status.
#[inline]
pub fn status_object(py: Python<'_>, status: Status) -> PyResult<Py<ApplyStatus>> {
    let instances = INSTANCES.get_or_try_init(py, || {
        ALL.iter()
            .map(|s| Py::new(py, *s))
            .collect::<PyResult<Vec<_>>>()
    })?;
    Ok(instances[status as usize].clone_ref(py))
}

/// Whether a book is synced with its venue.
#[allow(non_camel_case_types, clippy::upper_case_acronyms)]
#[pyclass(eq, eq_int, frozen, hash, module = "mmcore._core")]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum BookState {
    /// Waiting for a snapshot (at start, or after a gap or checksum mismatch).
    UNSYNCED = 0,
    /// Snapshot applied and every diff since continuous.
    SYNCED = 1,
}
