//! # kiln-privacy
//!
//! DP-SGD on Burn and exact (epsilon, delta) accounting of its composition.
//!
//! - [`event`]: privacy events (Gaussian, Laplace, Poisson-subsampled and fixed-size sampled
//!   Gaussian, with and without replacement) and the serializable [`Ledger`] a training run
//!   writes;
//! - [`fixed_size`]: RDP of fixed-size sampling (Wang-Balle-Kasiviswanathan 2019, as
//!   dp_accounting; a coarse sound bound with replacement);
//! - [`rdp`]: Rényi-DP accountant (dp_accounting 0.6 parity, never drops an order);
//! - [`pld`]: privacy-loss-distribution accountant (connect-the-dots, FFT composition);
//! - [`prv`]: the PRV accountant (Gopi, Lee & Wutschitz 2021) with a certified
//!   (lower, upper) epsilon bracket from its error bounds;
//! - [`composition`]: basic and advanced composition theorems, for comparison;
//! - [`accountant`]: one front for all of them ([`AccountantKind`]);
//! - [`calibrate`]: smallest noise / largest q / most steps meeting a target;
//! - [`noise`]: exact discrete Gaussian noise on a lattice from an OS-seeded CSPRNG
//!   ([`NoiseSource`]); reproducible noise only through the loudly named `InsecureSeed`;
//! - [`audit`]: recompute a training plan's claim and name the usual mistakes.
//!
//! ```
//! use kiln_privacy::{AccountantKind, BatchSampling, Ledger, epsilon};
//! // Abadi et al. 2016: q = 0.01, sigma = 4, 10^4 steps, delta = 1e-5.
//! let ledger = Ledger::steps(&BatchSampling::poisson(0.01), 4.0, 10_000)?;
//! let eps = epsilon(AccountantKind::Rdp, &ledger, 1e-5)?;
//! assert!(eps > 1.0 && eps < 1.3);
//! # Ok::<(), kiln_privacy::PrivacyError>(())
//! ```

#![warn(missing_docs)]

pub mod accountant;
pub mod audit;
pub mod calibrate;
pub mod composition;
#[cfg(feature = "burn")]
pub mod dpsgd;
pub mod errors;
pub mod event;
#[cfg(feature = "burn")]
pub mod experiment;
pub mod fixed_size;
#[cfg(feature = "burn")]
pub mod ghost;
pub mod hyperparams;
pub mod noise;
pub mod pld;
pub mod prv;
pub mod rdp;
pub mod special;

pub use accountant::{AccountantKind, delta, epsilon};
pub use errors::{PrivacyError, Result};
pub use event::{BatchSampling, DpEvent, Ledger, LedgerEntry, Neighbouring};
pub use hyperparams::{Conversion, Estimate, FractionalOrders, PldParams, RdpParams};
pub use noise::{LatticeNoise, NoiseSource};
pub use prv::{PrvEpsilon, PrvParams, PrvValidParams};

/// The README's code blocks, compiled and run as doctests.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;
