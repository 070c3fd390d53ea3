//! # kiln-norm
//!
//! Normalization that survives batch size 2, on Burn: Burn's layers behind validated configs,
//! what Burn lacks as `#[derive(Module)]` layers, and the tools to see BatchNorm's
//! train/inference mismatch.
//!
//! - [`BatchNorm`] (from [`BatchNormParams`]): Burn's BatchNorm with PyTorch's unbiased running
//!   variance (or Burn's biased one), and [`convention::convert_running_var`] between the two.
//! - [`GroupNorm`] (from [`GroupNormParams`]): Burn's GroupNorm with checked configs and inputs;
//!   on flex (f32) inference and training run [`fused`]'s kernels: GroupNorm forward/backward
//!   over f32 slices (AVX2 + FMA chosen at run time, portable fallback).
//! - Layers Burn lacks: [`BatchRenorm`], [`GhostBatchNorm`], [`Frn`] (+ TLU), [`EvoNormS0`],
//!   [`WsConv2d`] (Weight Standardization), and [`precise::precise_bn`] (PreciseBN).
//! - [`Norm`]: a normalization site chosen at run time; [`norm::swap_batch_for_group`]
//!   replaces every BatchNorm site of a model by GroupNorm.
//! - [`mismatch`]: training-mode vs inference-mode error, loss and outputs of a model, per
//!   batch size; [`experiment`]: the seed experiment and `kiln norm sweep` (`kiln reproduce norm`).
//! - [`errors`]: [`NormError`], one variant per broken rule.
#![warn(missing_docs)]

pub mod batch;
pub mod convention;
pub mod errors;
pub mod evonorm;
pub mod experiment;
pub mod frn;
pub mod fused;
mod fused_node;
pub mod ghost;
pub mod group;
pub mod hyperparams;
pub mod mismatch;
pub mod norm;
pub mod precise;
pub mod renorm;
mod stats;
pub mod ws;

pub use batch::BatchNorm;
pub use errors::{NormError, Result};
pub use evonorm::EvoNormS0;
pub use frn::Frn;
pub use ghost::GhostBatchNorm;
pub use group::GroupNorm;
pub use hyperparams::{
    BatchNormParams, BatchNormValidParams, BatchRenormParams, BatchRenormValidParams, ClipSchedule,
    EvoNormS0Params, EvoNormS0ValidParams, FrnParams, FrnValidParams, GhostBatchNormParams,
    GhostBatchNormValidParams, GroupNormParams, GroupNormValidParams, PreciseBnParams,
    PreciseBnValidParams, RunningVarParams, RunningVarValidParams, SweepParams, SweepValidParams,
    VarianceConvention, WsConv2dParams, WsConv2dValidParams,
};
pub use norm::{Norm, NormKind, NormOptions, NormSites};
pub use renorm::BatchRenorm;
pub use ws::WsConv2d;

#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;
