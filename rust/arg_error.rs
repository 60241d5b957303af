//! The error for a bad argument or config value: which one, and what is wrong with it; and the
//! range checks the simulators and models share.

use std::fmt;

/// An invalid argument or configuration value: its name and what is wrong with it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ArgError {
    /// The argument's or field's name (`qty`, `tick_size`, `window_s`, …).
    pub arg: &'static str,
    /// What is wrong, with the offending value.
    pub reason: String,
}

impl ArgError {
    /// An error for `arg`.
    pub fn new(arg: &'static str, reason: impl Into<String>) -> Self {
        ArgError {
            arg,
            reason: reason.into(),
        }
    }
}

impl fmt::Display for ArgError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.arg, self.reason)
    }
}

impl std::error::Error for ArgError {}

/// Every `(name, value)` must be finite and > 0.
pub fn positive(values: &[(&'static str, f64)]) -> Result<(), ArgError> {
    check(values, |v| v > 0.0, "must be > 0")
}

/// Every `(name, value)` must be finite and >= 0.
pub fn non_negative(values: &[(&'static str, f64)]) -> Result<(), ArgError> {
    check(values, |v| v >= 0.0, "must be >= 0")
}

/// Every `(name, value)` must be finite.
pub fn finite(values: &[(&'static str, f64)]) -> Result<(), ArgError> {
    check(values, |_| true, "must be finite")
}

fn check(
    values: &[(&'static str, f64)],
    ok: impl Fn(f64) -> bool,
    rule: &str,
) -> Result<(), ArgError> {
    match values.iter().find(|(_, v)| !(v.is_finite() && ok(*v))) {
        Some(&(arg, value)) => Err(ArgError::new(arg, format!("{rule}, got {value}"))),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_the_first_bad_value() {
        assert!(positive(&[("a", 1.0), ("b", 2.0)]).is_ok());
        let err = positive(&[("a", 1.0), ("b", 0.0), ("c", -1.0)]).unwrap_err();
        assert_eq!(err.to_string(), "b: must be > 0, got 0");
        assert_eq!(
            non_negative(&[("x", f64::NAN)]).unwrap_err().to_string(),
            "x: must be >= 0, got NaN"
        );
        assert!(non_negative(&[("x", 0.0)]).is_ok());
        assert_eq!(
            finite(&[("f", f64::INFINITY)]).unwrap_err().to_string(),
            "f: must be finite, got inf"
        );
    }
}
