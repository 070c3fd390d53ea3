//! The typed errors of kiln-drift.

use kiln_core::KilnError;

/// Result alias of this crate.
pub type Result<T, E = DriftError> = std::result::Result<T, E>;

/// What can go wrong when detecting drift, in terms a user can act on.
#[derive(Debug, thiserror::Error)]
pub enum DriftError {
    /// A NaN or infinite sample. The detector's state is unchanged.
    #[error("{detector}: non-finite value {value} at index {index}")]
    NonFinite {
        /// The detector that rejected it.
        detector: &'static str,
        /// 0-based index of the sample in the stream seen so far (since construction).
        index: u64,
        /// The value.
        value: f64,
    },
    /// A binary (error-rate) detector got a value outside what it accepts.
    #[error("{detector}: value {value} at index {index} is not {accepted}")]
    NotBinary {
        /// The detector that rejected it.
        detector: &'static str,
        /// 0-based index of the sample in the stream seen so far (since construction).
        index: u64,
        /// The value.
        value: f64,
        /// What the detector accepts (`in [0, 1]` or `0 or 1`).
        accepted: &'static str,
    },
    /// An unknown detector name or `--set` key.
    #[error("unknown {what} `{name}`; expected one of: {expected}")]
    Unknown {
        /// `detector` or `parameter of <detector>`.
        what: String,
        /// The name given.
        name: String,
        /// The accepted names.
        expected: String,
    },
    /// Everything kiln-core reports (invalid parameters, empty input, I/O).
    #[error(transparent)]
    Core(#[from] KilnError),
}

impl DriftError {
    /// Shorthand for an invalid-parameter error.
    pub fn invalid(name: &str, value: impl ToString, reason: &str) -> Self {
        DriftError::Core(KilnError::invalid(name, value, reason))
    }
}

impl From<DriftError> for KilnError {
    fn from(e: DriftError) -> Self {
        match e {
            DriftError::Core(k) => k,
            DriftError::NonFinite {
                detector, index, ..
            } => KilnError::NonFinite {
                context: format!("{detector} input"),
                index: usize::try_from(index).ok(),
            },
            DriftError::NotBinary { .. } | DriftError::Unknown { .. } => {
                KilnError::input("drift", e)
            }
        }
    }
}
