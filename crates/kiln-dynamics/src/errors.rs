//! The typed errors of kiln-dynamics.

use kiln_core::KilnError;

/// Result alias of this crate.
pub type Result<T, E = DynamicsError> = std::result::Result<T, E>;

/// What can go wrong in the symmetry, game and promoter-model tools, in terms a user can act on.
#[derive(Debug, thiserror::Error)]
pub enum DynamicsError {
    /// Two or more neurons of a layer start with bit-identical parameters: gradient descent
    /// gives them identical gradients, so they can never become different.
    #[error(
        "symmetric initialization of `{layer}`: neurons {first} and {second} have identical \
         parameters ({identical_pairs} identical pairs, numerical rank {rank} of {neurons} rows)"
    )]
    SymmetricInit {
        /// Layer name given by the caller.
        layer: String,
        /// First neuron of the first identical pair.
        first: usize,
        /// Second neuron of that pair.
        second: usize,
        /// Number of identical pairs.
        identical_pairs: usize,
        /// Numerical rank of the neuron matrix.
        rank: usize,
        /// Number of neurons.
        neurons: usize,
    },
    /// An iterate of a game dynamics left the finite numbers.
    #[error("{algorithm} diverged at step {step}: non-finite iterate")]
    Diverged {
        /// The update rule.
        algorithm: String,
        /// First step whose iterate is not finite.
        step: usize,
    },
    /// A DNA sequence holds a letter other than A, C, G, T.
    #[error("sequence {sequence} has {symbol:?} at position {position}; expected A, C, G or T")]
    BadBase {
        /// Index of the sequence.
        sequence: usize,
        /// Position inside it.
        position: usize,
        /// The offending character.
        symbol: char,
    },
    /// A matrix is too large for the plain-Rust eigenvalue routine meant for small games.
    #[error(
        "matrix of order {order} is too large for the small-matrix eigenvalue routine (max {max})"
    )]
    TooLarge {
        /// Order of the matrix.
        order: usize,
        /// Largest accepted order.
        max: usize,
    },
    /// A shared kiln error (shapes, non-finite values, parameters).
    #[error(transparent)]
    Core(#[from] KilnError),
}

impl From<DynamicsError> for KilnError {
    fn from(e: DynamicsError) -> Self {
        match e {
            DynamicsError::Core(k) => k,
            DynamicsError::Diverged { .. } => KilnError::Numerical {
                context: "dynamics".into(),
                message: e.to_string(),
            },
            other => KilnError::input("dynamics", other),
        }
    }
}

impl DynamicsError {
    /// Shorthand for an invalid-parameter error.
    pub(crate) fn invalid(name: &str, value: impl ToString, reason: &str) -> Self {
        DynamicsError::Core(KilnError::invalid(name, value, reason))
    }
}
