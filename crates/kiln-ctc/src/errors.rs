//! The typed errors of kiln-ctc.

use kiln_core::KilnError;

/// Result alias of this crate.
pub type Result<T, E = CtcError> = std::result::Result<T, E>;

/// What can go wrong in CTC loss and decoding, in terms a user can act on.
#[derive(Debug, thiserror::Error)]
pub enum CtcError {
    /// The blank index is not a valid class.
    #[error("blank index {blank} is out of range for {classes} classes")]
    BlankOutOfRange {
        /// The configured blank index.
        blank: usize,
        /// Number of classes (including blank).
        classes: usize,
    },
    /// A class index (a label to print, a decoder output read with another alphabet) is not
    /// a class of the alphabet.
    #[error("class {class} is out of range for an alphabet of {classes} classes")]
    ClassOutOfRange {
        /// The class index.
        class: usize,
        /// Number of classes of the alphabet.
        classes: usize,
    },
    /// A target sequence contains the blank symbol.
    #[error("target of sample {sample} contains the blank index {blank} at position {position}")]
    TargetIsBlank {
        /// Batch index.
        sample: usize,
        /// Position inside the target sequence.
        position: usize,
        /// The blank index.
        blank: usize,
    },
    /// A target label is not a class index.
    #[error(
        "target of sample {sample} has label {value} at position {position}, outside 0..{classes}"
    )]
    TargetOutOfRange {
        /// Batch index.
        sample: usize,
        /// Position inside the target sequence.
        position: usize,
        /// The label.
        value: i64,
        /// Number of classes.
        classes: usize,
    },
    /// A length is negative.
    #[error("{which} length of sample {sample} is negative ({value})")]
    NegativeLength {
        /// `input` or `target`.
        which: &'static str,
        /// Batch index.
        sample: usize,
        /// The length.
        value: i64,
    },
    /// A length exceeds what the input holds.
    #[error("{which} length of sample {sample} is {value}, more than the maximum {max}")]
    LengthOutOfRange {
        /// `input` or `target`.
        which: &'static str,
        /// Batch index.
        sample: usize,
        /// The length.
        value: i64,
        /// The largest allowed length.
        max: usize,
    },
    /// A malformed ARPA language-model file.
    #[error("ARPA file, line {line}: {message}")]
    Arpa {
        /// 1-based line number.
        line: usize,
        /// What is wrong.
        message: String,
    },
    /// A shared kiln error (shapes, non-finite values, parameters, I/O).
    #[error(transparent)]
    Core(#[from] KilnError),
}

impl From<CtcError> for KilnError {
    fn from(e: CtcError) -> Self {
        match e {
            CtcError::Core(k) => k,
            CtcError::Arpa { line, message } => KilnError::Parse {
                path: "<arpa>".into(),
                location: Some(format!("line {line}")),
                message,
            },
            other => KilnError::input("ctc", other),
        }
    }
}
