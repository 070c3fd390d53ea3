//! # kiln-losses
//!
//! Differentiable surrogates of segmentation metrics — soft Dice, soft IoU (Jaccard) and their
//! relatives — on Burn tensors, with the options the anchors (MONAI, segmentation_models_pytorch)
//! each hard-code made explicit.
//!
//! - [`SegLossParams`] -> [`SegLossParams::check`] -> [`SegLossValidParams`]: one typed,
//!   validated option set shared by every loss (activation, target kind, background,
//!   ignore index, class weights, squared denominators, smoothing, [`Reduction`],
//!   [`EmptyClass`] policy); defaults equal MONAI `DiceLoss`.
//! - [`SegLoss`]: the losses of [`LossKind`] — Dice, Jaccard, Tversky, focal Tversky, log-Dice,
//!   Generalized Dice, Lovász-softmax / -hinge, focal, Dice+CE, Dice+focal.
//! - [`soft_counts`]: the shared step, soft tp/fp/fn per (image, class) in the form that stays
//!   correct for soft labels. On the flex backend the overlap losses run it fused with the
//!   activation and the closed-form gradient in host kernels ([`SegLoss::forward_prepared`]);
//!   [`SegLoss::forward_composite`] is the Burn tensor-op path every other backend takes.
//! - [`metrics`]: hard per-image, per-class Dice and IoU; [`diagnostics`]: per-class gradient
//!   norms.
//! - [`experiment`]: the seed experiment (`kiln reproduce losses`).
#![warn(missing_docs)]

pub mod counts;
pub mod diagnostics;
pub mod errors;
pub mod experiment;
pub mod hyperparams;
pub mod loss;
pub mod metrics;
pub mod target;

mod focal;
mod fused;
mod fused_node;
mod lovasz;

pub use counts::{SoftCounts, soft_counts};
pub use diagnostics::class_gradient_norms;
pub use errors::{LossError, Result};
pub use hyperparams::{
    Activation, EmptyClass, GdlWeight, LossKind, Reduction, SegLossParams, SegLossValidParams,
    TargetKind,
};
pub use loss::SegLoss;
pub use metrics::{ClassScore, HardScores, hard_scores};
pub use target::{PreparedTarget, SegTarget};

/// The README's Rust examples, compiled and run as doctests.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;
