//! # kiln-drift
//!
//! Concept-drift detection on streams of losses and error indicators, and the reactions a
//! training loop takes when the data it learns from changes. The detectors are plain Rust on
//! `f64` (no tensors); only the training-loop hooks and the seed experiment use Burn.
//!
//! - [`Detector`]: `update(x) -> Signal {None, Warning, Drift}`, `update_many`, `reset`;
//!   every detector's state is `serde`-serializable. Settings are validated once:
//!   [`hyperparams`] (`XxxParams::check() -> XxxValidParams`, river's defaults).
//! - River-exact detectors: [`Adwin`], [`PageHinkley`], and for 0/1 error streams [`Ddm`],
//!   [`Eddm`], [`HddmA`], [`HddmW`]; [`Kswin`] with kiln's own seeded RNG.
//! - Control charts: [`Cusum`] (decision interval from a target in-control ARL) and
//!   [`EwmaChart`].
//! - [`LossMonitor`]: detrended, standardized, one-sided monitoring of a training loss, with
//!   warm-up mask, minimum gap and an estimated change point.
//! - [`harness`]: seeded drift generators, detection delay / false alarms / misses over many
//!   seeds, against a do-nothing baseline.
//! - [`AnyDetector`]: a detector chosen by name with `key=value` settings (the CLI).
//! - With the `burn` feature: [`actions`] (typed reactions of a Burn training loop) and
//!   [`experiment`] (the seed experiment, `kiln reproduce drift`).
#![warn(missing_docs)]

pub mod any;
pub mod detectors;
pub mod errors;
pub mod harness;
pub mod hyperparams;
pub mod monitor;
pub mod signal;
mod stats;

#[cfg(feature = "burn")]
pub mod actions;
#[cfg(feature = "burn")]
pub mod experiment;

pub use any::{AnyDetector, DetectorKind, StreamReport};
pub use detectors::adwin::Adwin;
pub use detectors::cusum::Cusum;
pub use detectors::ddm::Ddm;
pub use detectors::eddm::Eddm;
pub use detectors::ewma::EwmaChart;
pub use detectors::hddm_a::HddmA;
pub use detectors::hddm_w::HddmW;
pub use detectors::kswin::Kswin;
pub use detectors::page_hinkley::PageHinkley;
pub use errors::{DriftError, Result};
pub use hyperparams::*;
pub use monitor::{Alarm, LossMonitor};
pub use signal::{Detections, Detector, Signal};

#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;
