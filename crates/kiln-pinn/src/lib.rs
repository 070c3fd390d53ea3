//! # kiln-pinn
//!
//! Physics-informed neural networks on Burn: a network `u_theta(x)` is trained so that a PDE
//! residual, boundary/initial conditions and optional observations all vanish.
//!
//! Burn differentiates once; PDEs need second derivatives in the inputs. kiln-pinn pushes
//! derivative [`Jet`]s forward through the network (values, first and second input derivatives
//! stacked along the batch axis, one matmul per layer) and lets one ordinary backward pass give
//! the parameter gradient. On top:
//!
//! - [`activation`]: tanh, sin, SiLU, GELU, softplus with closed-form `f'`, `f''`;
//! - [`network`]: MLP, Fourier-feature MLP, modified MLP over one flat parameter vector;
//! - [`operators`]: `d/dx_i`, `d2/dx_i dx_j`, Laplacian, `d/dt` read off the output jet;
//! - [`problem`] / [`problems`]: PDEs as data (domain, residual, soft and hard conditions,
//!   observations, reference solution) and seven built-in problems;
//! - [`optim`]: Adam and L-BFGS (strong Wolfe) with typed [`optim::StopReason`]s;
//! - [`solver`]: the Adam -> L-BFGS schedule, loss balancing, RAR, evaluation;
//! - [`experiment`]: Adam vs L-BFGS vs Adam -> L-BFGS, f32 vs f64, clean vs noisy data.
//!
//! ```no_run
//! use kiln_pinn::{PinnParams, ProblemKind, ProblemOptions, solve};
//! use kiln_core::{BackendKind, experiment::NoProgress};
//!
//! let params = PinnParams::new().adam_steps(1000).lbfgs_steps(500).check()?;
//! let (report, _pinn) = solve(
//!     ProblemKind::Poisson1d,
//!     &ProblemOptions::default(),
//!     &params,
//!     BackendKind::Flex,
//!     &NoProgress,
//! )?;
//! println!("L2 error {:.2e}, stopped: {}", report.l2_relative_error, report.train.stop_reason);
//! # Ok::<(), kiln_pinn::PinnError>(())
//! ```

#![warn(missing_docs)]

pub mod activation;
pub(crate) mod dual;
pub mod errors;
pub mod experiment;
pub(crate) mod fused;
pub mod hyperparams;
pub(crate) mod jet;
pub mod loss;
pub mod network;
pub mod operators;
pub mod optim;
pub(crate) mod pointwise;
pub mod presets;
pub mod problem;
pub mod problems;
pub mod reference;
pub mod sampling;
pub mod solver;

pub use activation::Activation;
pub use dual::{Dual2, MAX_DIM};
pub use errors::{PinnError, Result};
pub use hyperparams::{CausalParams, Engine, PinnParams, PinnValidParams, RarParams, TargetL2};
pub use jet::{Channels, Jet, Needs};
pub use network::Architecture;
pub use optim::StopReason;
pub use pointwise::{Lin, PointFields};
pub use problems::{ProblemKind, ProblemOptions};
pub use sampling::Sampler;
pub use solver::{Evaluation, Pinn, SolveReport, TrainReport, solve};

/// The README's code blocks, compiled and run as doctests.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;
