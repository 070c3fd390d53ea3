//! The typed errors of kiln-motifs.

use std::path::PathBuf;

use kiln_core::KilnError;

/// Result alias of this crate.
pub type Result<T, E = MotifsError> = std::result::Result<T, E>;

/// What can go wrong when reading graphs, counting motifs or sampling null models.
#[derive(Debug, thiserror::Error)]
pub enum MotifsError {
    /// An edge-list line that is not `src dst [weight]`.
    #[error("{}:{line}: {message}", .path.display())]
    MalformedEdge {
        /// The file (`<input>` for in-memory text).
        path: PathBuf,
        /// 1-based line number.
        line: usize,
        /// What is wrong with the line.
        message: String,
    },
    /// The same directed edge appears twice (duplicates are rejected, see the crate docs).
    #[error("{}:{line}: duplicate edge {src} -> {dst} (first seen on line {first_line})", .path.display())]
    DuplicateEdge {
        /// The file.
        path: PathBuf,
        /// Line of the second occurrence.
        line: usize,
        /// Line of the first occurrence.
        first_line: usize,
        /// Source node as written.
        src: String,
        /// Target node as written.
        dst: String,
    },
    /// A node index at or beyond the declared node count.
    #[error("node {node} is out of range for a graph of {nodes} nodes")]
    NodeOutOfRange {
        /// The node index.
        node: usize,
        /// The node count.
        nodes: usize,
    },
    /// A weight that is NaN or infinite.
    #[error("non-finite weight {value} on edge {src} -> {dst}")]
    NonFiniteWeight {
        /// Source node index.
        src: usize,
        /// Target node index.
        dst: usize,
        /// The weight.
        value: f64,
    },
    /// A weight matrix that is not square.
    #[error("weight matrix `{name}` must be square [n, n], got shape {shape:?}")]
    NotSquare {
        /// Which matrix.
        name: String,
        /// Its shape.
        shape: Vec<usize>,
    },
    /// A graph with too few nodes or no edges where the computation needs them.
    #[error("graph is too small for {what}: {nodes} nodes, {edges} edges")]
    GraphTooSmall {
        /// What needed a larger graph.
        what: &'static str,
        /// Node count.
        nodes: usize,
        /// Edge count.
        edges: usize,
    },
    /// A parameter outside its valid range.
    #[error("invalid parameter `{name}` = {value}: {reason}")]
    InvalidParameter {
        /// Parameter name.
        name: &'static str,
        /// The offending value, formatted.
        value: String,
        /// Why it is rejected.
        reason: &'static str,
    },
    /// A Burn module has no parameter of the requested name.
    #[error("module has no weight `{name}` (found: {found})")]
    MissingWeight {
        /// The requested parameter path.
        name: String,
        /// The parameter paths the module has.
        found: String,
    },
    /// A shared kiln error (I/O, `.npy` parsing, ...).
    #[error(transparent)]
    Core(#[from] KilnError),
}

impl MotifsError {
    pub(crate) fn invalid(name: &'static str, value: impl ToString, reason: &'static str) -> Self {
        Self::InvalidParameter {
            name,
            value: value.to_string(),
            reason,
        }
    }
}

impl From<MotifsError> for KilnError {
    fn from(e: MotifsError) -> Self {
        match e {
            MotifsError::Core(k) => k,
            MotifsError::InvalidParameter {
                name,
                value,
                reason,
            } => KilnError::invalid(name, value, reason),
            MotifsError::NotSquare { name, shape } => {
                KilnError::shape(name, "[n, n]", format!("{shape:?}"))
            }
            other => KilnError::input("motifs", other),
        }
    }
}
