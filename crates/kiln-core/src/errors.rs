//! The error type every kiln crate wraps or returns.

use std::path::PathBuf;

/// Result alias used across kiln.
pub type Result<T, E = KilnError> = std::result::Result<T, E>;

/// What can go wrong in kiln, in terms a user can act on.
///
/// Area crates wrap this in their own error enums (with `#[from]`) or return it directly.
/// Every variant names *where* the problem is, so a CLI can print it as one line.
#[derive(Debug, thiserror::Error)]
pub enum KilnError {
    /// A parameter is outside the range where the algorithm is defined.
    #[error("invalid parameter `{name}` = {value}: {reason}")]
    InvalidParameter {
        /// Parameter name as the user wrote it.
        name: String,
        /// The offending value, formatted.
        value: String,
        /// Why it is rejected.
        reason: String,
    },
    /// Two inputs (or an input and a declared size) disagree on shape.
    #[error("shape mismatch in {context}: expected {expected}, got {actual}")]
    ShapeMismatch {
        /// Which input or operation.
        context: String,
        /// What was expected.
        expected: String,
        /// What was found.
        actual: String,
    },
    /// A NaN or infinite value where a finite one is required.
    #[error("non-finite value in {context}{}", .index.map(|i| format!(" at index {i}")).unwrap_or_default())]
    NonFinite {
        /// Which input.
        context: String,
        /// First offending flat index, when known.
        index: Option<usize>,
    },
    /// An input that must not be empty is empty.
    #[error("empty input: {0}")]
    Empty(String),
    /// The requested backend was not compiled in, or could not start.
    #[error("backend `{backend}` is unavailable: {reason}")]
    UnsupportedBackend {
        /// Backend name.
        backend: String,
        /// What is missing and how to get it.
        reason: String,
    },
    /// Reading or writing a file failed.
    #[error("{}: {source}", .path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The underlying I/O error.
        #[source]
        source: std::io::Error,
    },
    /// A file could be read but its contents are malformed.
    #[error("{}{}: {message}", .path.display(), .location.as_ref().map(|l| format!(":{l}")).unwrap_or_default())]
    Parse {
        /// The file (or `<input>` for in-memory text).
        path: PathBuf,
        /// Line number, byte offset or JSON position, when known (`line 3`, `offset 128`).
        location: Option<String>,
        /// What is wrong.
        message: String,
    },
    /// An area crate's own input error (a target label out of range, a malformed edge line),
    /// kept whole: area error enums convert their specific variants into this one so the
    /// message survives the trip through `KilnError` (exit code 2 in the CLI).
    #[error("{area}: {message}")]
    Input {
        /// The area (`ctc`, `motifs`, ...).
        area: &'static str,
        /// The area error's own message.
        message: String,
    },
    /// A numerical procedure failed (did not converge, produced a non-finite value mid-way).
    #[error("numerical failure in {context}: {message}")]
    Numerical {
        /// Which procedure.
        context: String,
        /// What happened.
        message: String,
    },
}

impl KilnError {
    /// Shorthand for [`KilnError::InvalidParameter`].
    pub fn invalid(
        name: impl Into<String>,
        value: impl ToString,
        reason: impl Into<String>,
    ) -> Self {
        Self::InvalidParameter {
            name: name.into(),
            value: value.to_string(),
            reason: reason.into(),
        }
    }

    /// Shorthand for [`KilnError::ShapeMismatch`].
    pub fn shape(
        context: impl Into<String>,
        expected: impl ToString,
        actual: impl ToString,
    ) -> Self {
        Self::ShapeMismatch {
            context: context.into(),
            expected: expected.to_string(),
            actual: actual.to_string(),
        }
    }

    /// Shorthand for [`KilnError::Input`]: `area`'s error `e`, message kept.
    pub fn input(area: &'static str, e: impl std::fmt::Display) -> Self {
        Self::Input {
            area,
            message: e.to_string(),
        }
    }

    /// Whether the error is the user's input (exit code 2) rather than an internal failure (1).
    pub fn is_user_error(&self) -> bool {
        !matches!(self, Self::Numerical { .. })
    }
}

/// Fails with [`KilnError::NonFinite`] at the first NaN or infinite value of `values`.
pub fn ensure_finite<T: Copy + Into<f64>>(values: &[T], context: &str) -> Result<()> {
    match values.iter().position(|v| !(*v).into().is_finite()) {
        Some(i) => Err(KilnError::NonFinite {
            context: context.to_string(),
            index: Some(i),
        }),
        None => Ok(()),
    }
}

/// Fails with [`KilnError::Empty`] when `values` is empty.
pub fn ensure_nonempty<T>(values: &[T], context: &str) -> Result<()> {
    if values.is_empty() {
        Err(KilnError::Empty(context.to_string()))
    } else {
        Ok(())
    }
}

/// The number of values of an array of shape `dims` (sizes read from a file or an argument),
/// or [`KilnError::InvalidParameter`] when the product overflows `usize` (release builds
/// would otherwise wrap silently).
pub fn checked_len(dims: &[usize], context: &str) -> Result<usize> {
    dims.iter()
        .try_fold(1usize, |acc, &d| acc.checked_mul(d))
        .ok_or_else(|| KilnError::invalid(context, format!("{dims:?}"), "the size overflows"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_name_the_place() {
        let e = KilnError::invalid("sigma", -1.0, "must be > 0");
        assert_eq!(e.to_string(), "invalid parameter `sigma` = -1: must be > 0");
        let e = KilnError::NonFinite {
            context: "log_probs".into(),
            index: Some(3),
        };
        assert_eq!(e.to_string(), "non-finite value in log_probs at index 3");
        let e = KilnError::Parse {
            path: "a.csv".into(),
            location: Some("line 4".into()),
            message: "not a number".into(),
        };
        assert_eq!(e.to_string(), "a.csv:line 4: not a number");
        let e = KilnError::input("ctc", "label 7 outside 0..5");
        assert_eq!(e.to_string(), "ctc: label 7 outside 0..5");
        assert!(e.is_user_error());
    }

    #[test]
    fn finite_and_empty_checks() {
        assert!(ensure_finite(&[1.0f32, 2.0], "x").is_ok());
        let err = ensure_finite(&[1.0f64, f64::NAN], "x").unwrap_err();
        assert!(matches!(err, KilnError::NonFinite { index: Some(1), .. }));
        assert!(ensure_nonempty::<f64>(&[], "x").is_err());
        assert!(ensure_nonempty(&[1], "x").is_ok());
        assert_eq!(checked_len(&[2, 3, 4], "x").unwrap(), 24);
        assert!(checked_len(&[usize::MAX, 2], "x").is_err());
    }
}
