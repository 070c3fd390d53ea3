//! # kiln-core
//!
//! The shared backend layer every kiln crate builds on:
//!
//! - [`backend`]: which Burn [`Device`](burn::tensor::Device) to run on ([`BackendKind`],
//!   [`device`]), chosen by `--backend` / `KILN_BACKEND`, never by `Device::default()`;
//! - [`seed`]: one seed for Burn's RNG and the host RNGs;
//! - [`convert`]: tensors to and from `Vec<f32|f64>` with explicit dtypes;
//! - [`grad_check`](mod@grad_check): autodiff gradients against central finite differences;
//! - [`errors`]: [`KilnError`], the typed errors area crates wrap;
//! - [`io`]: `.npy`, one-column CSV and JSON readers whose errors name file and line;
//! - [`numerics`]: log-add-exp, the argmax fold and normal draws, shared by the areas;
//! - [`experiment`]: the report type every area's `experiment::run` returns, and the built-in
//!   [`check_experiment`].
//!
//! ```
//! use kiln_core::{Autodiff, BackendKind, Precision, convert, device};
//!
//! let dev = device(BackendKind::Flex, Autodiff::On, Precision::F32)?;
//! let x = convert::tensor_f32(&[1.0, 2.0, 3.0], [3], &dev)?.require_grad();
//! let y = (x.clone() * x.clone()).sum();
//! let g = x.grad(&y.backward()).unwrap();
//! assert_eq!(convert::to_vec_f32(&g)?, vec![2.0, 4.0, 6.0]);
//! # Ok::<(), kiln_core::KilnError>(())
//! ```
//!
//! Burn sits behind the `burn` feature (on by default, implied by each backend feature). With
//! `default-features = false` kiln-core keeps only its plain-Rust part — errors, readers,
//! seeding, report types, [`BackendKind`] names — so a crate whose core uses no tensors (an
//! accountant, a detector, a motif census) builds in seconds.

pub mod backend;
#[cfg(feature = "burn")]
pub mod check_experiment;
#[cfg(feature = "burn")]
pub mod convert;
pub mod errors;
pub mod experiment;
#[cfg(feature = "burn")]
pub mod grad_check;
pub mod io;
pub mod numerics;
pub mod seed;

pub use backend::{Autodiff, BackendKind, Precision};
#[cfg(feature = "burn")]
pub use backend::{default_device, device, f64_math_error};
pub use errors::{KilnError, Result};
pub use experiment::{ExperimentConfig, ExperimentReport, Figure, Metric, Progress, Series};
#[cfg(feature = "burn")]
pub use grad_check::{GradCheckConfig, GradCheckReport, grad_check};

/// Burn, re-exported so users of kiln name the same version kiln was built with.
#[cfg(feature = "burn")]
pub use burn;
