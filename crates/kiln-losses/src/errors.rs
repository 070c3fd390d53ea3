//! The typed errors of kiln-losses.

use kiln_core::KilnError;

/// Result alias of this crate.
pub type Result<T, E = LossError> = std::result::Result<T, E>;

/// What can go wrong when configuring or evaluating a segmentation loss.
#[derive(Debug, thiserror::Error)]
pub enum LossError {
    /// A class-index target holds a label that is neither a class nor the ignore index.
    #[error("target label {value} at flat index {index} is outside 0..{classes}{}", .ignore_index.map(|i| format!(" and is not the ignore index {i}")).unwrap_or_default())]
    TargetOutOfRange {
        /// Flat (row-major) index of the pixel in the `[B, H, W]` map.
        index: usize,
        /// The label.
        value: i64,
        /// Number of classes `C` of the predictions.
        classes: usize,
        /// The configured ignore index, if any.
        ignore_index: Option<i64>,
    },
    /// A dense (one-hot or soft) target value is outside what its kind allows.
    #[error("{kind} target value {value} at flat index {index}: {rule}")]
    TargetValue {
        /// `one-hot` or `soft`.
        kind: &'static str,
        /// Flat (row-major) index in the `[B, C, H, W]` target.
        index: usize,
        /// The value.
        value: f64,
        /// What the kind allows.
        rule: &'static str,
    },
    /// Predictions given as probabilities (activation `none`) are outside `[0, 1]`.
    #[error(
        "prediction {value} at flat index {index} is outside [0, 1] (activation none expects probabilities)"
    )]
    ProbabilityOutOfRange {
        /// Flat index in `[B, C, H, W]`.
        index: usize,
        /// The value.
        value: f64,
    },
    /// The target's kind does not match the configured [`TargetKind`](crate::TargetKind).
    #[error("target kind mismatch: configured {configured}, given {given}")]
    TargetKindMismatch {
        /// The configured kind.
        configured: &'static str,
        /// The kind of the target passed in.
        given: &'static str,
    },
    /// A class weight is negative or not finite.
    #[error("class weight {index} = {value}: weights must be finite and >= 0")]
    NegativeWeight {
        /// Class position in the weight vector.
        index: usize,
        /// The weight.
        value: f64,
    },
    /// A smoothing constant is negative or not finite.
    #[error("smoothing `{name}` = {value}: must be finite and >= 0")]
    NegativeSmoothing {
        /// `smooth_nr` or `smooth_dr`.
        name: &'static str,
        /// The value.
        value: f64,
    },
    /// An option that this loss does not support in the given combination.
    #[error("{loss}: {message}")]
    Unsupported {
        /// The loss kind.
        loss: &'static str,
        /// What is not supported and what to use instead.
        message: String,
    },
    /// A shared kiln error (shapes, non-finite values, parameters).
    #[error(transparent)]
    Core(#[from] KilnError),
}

impl From<LossError> for KilnError {
    fn from(e: LossError) -> Self {
        match e {
            LossError::Core(k) => k,
            LossError::NegativeWeight { index, value } => {
                KilnError::invalid(format!("class_weights[{index}]"), value, "must be >= 0")
            }
            LossError::NegativeSmoothing { name, value } => {
                KilnError::invalid(name, value, "must be finite and >= 0")
            }
            other => KilnError::input("losses", other),
        }
    }
}
