//! # kiln
//!
//! The umbrella crate: it only re-exports. Each area is a feature of the same name
//! (`losses`, `norm`, `ctc`, `pinn`, `motifs`, `privacy`, `drift`, `dynamics`; `full` for all),
//! and [`core`] (the shared backend layer) is always there.
//!
//! ```toml
//! [dependencies]
//! kiln = { version = "0.1", features = ["privacy"] }
//! ```
//!
//! ```
//! let dev = kiln::core::default_device()?;
//! # let _ = dev;
//! # Ok::<(), kiln::core::KilnError>(())
//! ```

pub use kiln_core as core;

/// Differentiable surrogates of segmentation metrics.
#[cfg(feature = "losses")]
pub use kiln_losses as losses;

/// Normalization at small batch sizes.
#[cfg(feature = "norm")]
pub use kiln_norm as norm;

/// CTC loss and decoding.
#[cfg(feature = "ctc")]
pub use kiln_ctc as ctc;

/// Physics-informed neural networks.
#[cfg(feature = "pinn")]
pub use kiln_pinn as pinn;

/// Network-motif analysis of weight graphs.
#[cfg(feature = "motifs")]
pub use kiln_motifs as motifs;

/// DP-SGD and privacy accounting.
#[cfg(feature = "privacy")]
pub use kiln_privacy as privacy;

/// Concept-drift detection on loss streams.
#[cfg(feature = "drift")]
pub use kiln_drift as drift;

/// Training dynamics experiments.
#[cfg(feature = "dynamics")]
pub use kiln_dynamics as dynamics;
