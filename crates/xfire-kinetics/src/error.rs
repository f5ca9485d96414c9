//! Errors of the time-activity, dose-over-time, radiobiology and lymphocyte modules.

use thiserror::Error;

/// What is wrong with a kinetics, regimen, dose-field, radiobiology or lymphocyte input.
/// Messages name the offending value and its unit.
#[derive(Debug, Clone, PartialEq, Error)]
pub enum KineticsError {
    /// A number is NaN, infinite, or outside its allowed range.
    #[error("{what} must be {expected}, got {value} {unit}")]
    BadValue {
        /// What the value is ("biological half-time of term 2").
        what: String,
        /// The offending value, in `unit`.
        value: f64,
        /// Its unit ("s", "Bq", "1", …).
        unit: &'static str,
        /// What was expected ("finite and > 0").
        expected: &'static str,
    },
    /// A list that must not be empty is empty.
    #[error("{0} must not be empty")]
    Empty(String),
    /// Two lengths that must agree do not.
    #[error("{what}: expected {expected} entries, got {got}")]
    Length {
        /// What was measured.
        what: String,
        /// Expected length.
        expected: usize,
        /// Actual length.
        got: usize,
    },
    /// Times or table abscissae are not in increasing order.
    #[error("{what} must be in increasing order: {earlier} s is followed by {later} s")]
    NotIncreasing {
        /// What list.
        what: String,
        /// The earlier entry \[s\].
        earlier: f64,
        /// The entry after it \[s\].
        later: f64,
    },
    /// An index refers outside a list.
    #[error("{what}: index {index} is outside 0..{len}")]
    Index {
        /// What the index refers to.
        what: String,
        /// The index.
        index: usize,
        /// The list length.
        len: usize,
    },
    /// A name refers to nothing known.
    #[error("{what} {name:?} is unknown; known: {known}")]
    Unknown {
        /// What kind of name.
        what: &'static str,
        /// The name as given.
        name: String,
        /// The names that would have been accepted.
        known: String,
    },
    /// A text (regimen, quantity) could not be read.
    #[error("cannot read {what} {text:?}: {reason}")]
    Parse {
        /// What was being read.
        what: &'static str,
        /// The text.
        text: String,
        /// Why it failed and what is expected.
        reason: String,
    },
    /// A decay-chain error.
    #[error(transparent)]
    Chain(#[from] crate::ChainError),
}

/// Result alias of the kinetics modules.
pub type KResult<T> = std::result::Result<T, KineticsError>;

/// Error unless `value` is finite and ≥ 0.
pub(crate) fn non_negative(
    what: impl Into<String>,
    value: f64,
    unit: &'static str,
) -> KResult<f64> {
    if value.is_finite() && value >= 0.0 {
        Ok(value)
    } else {
        Err(KineticsError::BadValue {
            what: what.into(),
            value,
            unit,
            expected: "finite and >= 0",
        })
    }
}

/// Error unless `value` is finite and > 0.
pub(crate) fn positive(what: impl Into<String>, value: f64, unit: &'static str) -> KResult<f64> {
    if value.is_finite() && value > 0.0 {
        Ok(value)
    } else {
        Err(KineticsError::BadValue {
            what: what.into(),
            value,
            unit,
            expected: "finite and > 0",
        })
    }
}

/// Error unless `value` is finite.
pub(crate) fn finite(what: impl Into<String>, value: f64, unit: &'static str) -> KResult<f64> {
    if value.is_finite() {
        Ok(value)
    } else {
        Err(KineticsError::BadValue {
            what: what.into(),
            value,
            unit,
            expected: "finite",
        })
    }
}

/// Error unless `value` is > 0 (∞ allowed, e.g. a half-time meaning "no clearance").
pub(crate) fn positive_or_inf(
    what: impl Into<String>,
    value: f64,
    unit: &'static str,
) -> KResult<f64> {
    if value > 0.0 {
        Ok(value)
    } else {
        Err(KineticsError::BadValue {
            what: what.into(),
            value,
            unit,
            expected: "> 0 (infinite allowed)",
        })
    }
}

/// As [`non_negative`], building the name only on error (for hot loops).
pub(crate) fn non_negative_lazy(
    what: impl FnOnce() -> String,
    value: f64,
    unit: &'static str,
) -> KResult<f64> {
    if value.is_finite() && value >= 0.0 {
        Ok(value)
    } else {
        non_negative(what(), value, unit)
    }
}

/// As [`finite`], building the name only on error (for hot loops).
pub(crate) fn finite_lazy(
    what: impl FnOnce() -> String,
    value: f64,
    unit: &'static str,
) -> KResult<f64> {
    if value.is_finite() {
        Ok(value)
    } else {
        finite(what(), value, unit)
    }
}
