//! The errors kiln-privacy returns.

use kiln_core::KilnError;

/// Result alias of this crate.
pub type Result<T, E = PrivacyError> = std::result::Result<T, E>;

/// What can go wrong while accounting privacy or running DP-SGD.
#[derive(Debug, thiserror::Error)]
pub enum PrivacyError {
    /// A shared kiln error: invalid parameter, non-finite value, I/O, parse.
    #[error(transparent)]
    Core(#[from] KilnError),
    /// An RDP order could not be evaluated soundly; kiln refuses to drop it silently.
    #[error("RDP order {order} failed: {reason}")]
    RdpOrder {
        /// The Rényi order.
        order: f64,
        /// What went wrong.
        reason: String,
    },
    /// No parameter value in the searched range meets the privacy target.
    #[error("calibration: {0}")]
    Unreachable(String),
    /// This accountant cannot account this event soundly (kiln refuses rather than guess).
    #[error("the {accountant} accountant cannot account event `{event}`: {reason}")]
    Unsupported {
        /// The event's name.
        event: String,
        /// The accountant's name.
        accountant: String,
        /// Why, and what to use instead.
        reason: String,
    },
    /// A ledger mixes events analysed under different neighbouring relations.
    #[error(
        "ledger mixes `{first}` (one neighbouring relation) with `{second}` (another): \
         add/remove-one and replace-one guarantees do not compose; account them separately"
    )]
    MixedNeighbouring {
        /// The first event fixing the relation.
        first: String,
        /// The event that conflicts with it.
        second: String,
    },
    /// The accountant gives no finite epsilon at this delta.
    #[error("the {accountant} accountant gives no finite epsilon: {reason}")]
    NoFiniteEpsilon {
        /// The accountant's name.
        accountant: String,
        /// Why, and what to do instead.
        reason: String,
    },
    /// A step declared a dataset size other than the one the run was built for.
    #[error(
        "dataset size changed: the run was built for {expected} records, a step declared {got} \
         (the ledger's sampling events assume one fixed dataset)"
    )]
    DatasetSizeChanged {
        /// The run's dataset size.
        expected: u64,
        /// The declared one.
        got: u64,
    },
    /// The operating system's random source failed, so no noise can be drawn privately.
    #[error("secure noise source unavailable: {0}")]
    NoiseSource(String),
    /// A PLD would need more memory than kiln allows for one distribution.
    #[error("PLD grid of {points} points exceeds the limit of {limit}: {hint}")]
    GridTooLarge {
        /// Points needed.
        points: usize,
        /// The limit.
        limit: usize,
        /// How to get under it.
        hint: String,
    },
}

impl PrivacyError {
    /// Shorthand for an invalid-parameter error.
    pub fn invalid(name: &str, value: impl ToString, reason: &str) -> Self {
        PrivacyError::Core(KilnError::invalid(name, value, reason))
    }

    /// Shorthand for a numerical failure.
    pub fn numerical(context: &str, message: impl Into<String>) -> Self {
        PrivacyError::Core(KilnError::Numerical {
            context: context.to_string(),
            message: message.into(),
        })
    }
}

impl From<PrivacyError> for KilnError {
    fn from(e: PrivacyError) -> Self {
        match e {
            PrivacyError::Core(k) => k,
            PrivacyError::RdpOrder { .. }
            | PrivacyError::GridTooLarge { .. }
            | PrivacyError::NoiseSource(_) => KilnError::Numerical {
                context: "privacy accounting".into(),
                message: e.to_string(),
            },
            PrivacyError::Unreachable(_)
            | PrivacyError::DatasetSizeChanged { .. }
            | PrivacyError::Unsupported { .. }
            | PrivacyError::MixedNeighbouring { .. }
            | PrivacyError::NoFiniteEpsilon { .. } => KilnError::input("privacy", e),
        }
    }
}
