//! Python's float `min`/`max` semantics, for code ported from Python that must give the same
//! results bit for bit (including with NaN arguments).

/// Python's `min(a, b)`: `a` unless `b` is smaller (so a NaN `b` is ignored, a NaN `a` kept).
#[inline]
pub fn py_min(a: f64, b: f64) -> f64 {
    if b < a {
        b
    } else {
        a
    }
}

/// Python's `max(a, b)`: `a` unless `b` is larger.
#[inline]
pub fn py_max(a: f64, b: f64) -> f64 {
    if b > a {
        b
    } else {
        a
    }
}
