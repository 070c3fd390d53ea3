//! Typed errors of kiln-pinn.

use kiln_core::KilnError;

/// Result alias of this crate.
pub type Result<T, E = PinnError> = std::result::Result<T, E>;

/// What can go wrong while building or training a PINN.
#[derive(Debug, thiserror::Error)]
pub enum PinnError {
    /// An error from kiln-core (invalid parameter, shape, backend, I/O).
    #[error(transparent)]
    Core(#[from] KilnError),
    /// A domain whose bounds are not finite or not strictly increasing.
    #[error("invalid domain on axis {axis}: [{lo}, {hi}] (bounds must be finite and lo < hi)")]
    InvalidDomain {
        /// Axis index.
        axis: usize,
        /// Lower bound.
        lo: f64,
        /// Upper bound.
        hi: f64,
    },
    /// The loss or its gradient became NaN or infinite during training.
    #[error("non-finite {what} at {phase} step {step}")]
    NonFiniteLoss {
        /// Optimizer phase (`adam` or `lbfgs`).
        phase: &'static str,
        /// 0-based step within the phase.
        step: usize,
        /// `loss` or `gradient`.
        what: &'static str,
    },
    /// A problem name that is not one of the built-in problems.
    #[error("unknown problem `{0}`; available: {available}", available = crate::problems::ProblemKind::NAMES.join(", "))]
    UnknownProblem(String),
    /// A derivative was asked of a jet that was not built with it.
    #[error("derivative {0} was not requested when the jet was built")]
    MissingChannel(String),
}

impl PinnError {
    /// Whether the error is the caller's input rather than a numerical failure.
    pub fn is_user_error(&self) -> bool {
        match self {
            PinnError::Core(e) => e.is_user_error(),
            PinnError::NonFiniteLoss { .. } | PinnError::MissingChannel(_) => false,
            PinnError::InvalidDomain { .. } | PinnError::UnknownProblem(_) => true,
        }
    }
}

impl From<PinnError> for KilnError {
    fn from(e: PinnError) -> Self {
        match e {
            PinnError::Core(k) => k,
            PinnError::NonFiniteLoss { .. } | PinnError::MissingChannel(_) => {
                KilnError::Numerical {
                    context: "kiln-pinn".into(),
                    message: e.to_string(),
                }
            }
            PinnError::UnknownProblem(name) => KilnError::invalid(
                "problem",
                name,
                format!(
                    "expected one of: {}",
                    crate::problems::ProblemKind::NAMES.join(", ")
                ),
            ),
            PinnError::InvalidDomain { axis, lo, hi } => KilnError::invalid(
                format!("domain axis {axis}"),
                format!("[{lo}, {hi}]"),
                "bounds must be finite and lo < hi",
            ),
        }
    }
}
