//! # kiln-ctc
//!
//! Connectionist temporal classification: the loss (all alignments of a label sequence to the
//! frames, with a blank symbol, summed by dynamic programming) and the decoders that turn
//! per-frame probabilities back into text.
//!
//! - [`CtcLoss`] (built from [`CtcLossParams`] -> [`CtcLossValidParams`]): PyTorch's `F.ctc_loss` semantics, log-space
//!   alpha/beta recursions in plain Rust, parallel over the batch, loss and gradient, wired into
//!   Burn's autodiff ([`CtcLoss::forward`]); Burn's own op behind the same checks
//!   ([`CtcLoss::forward_burn`]).
//! - Decoders ([`decode`]): [`greedy`](decode::greedy::greedy), prefix [`BeamSearch`] with an
//!   ARPA n-gram [`NgramLm`], hotwords, N-best, timestamps and streaming; Viterbi forced
//!   alignment and occupancy posteriors ([`decode::align`]).
//! - [`monitor`]: blank-collapse statistics and the usual remedies.
//! - [`experiment`]: the seed experiment (`kiln reproduce ctc`).
#![warn(missing_docs)]

pub mod alphabet;
pub mod decode;
mod dp;
pub mod errors;
pub mod experiment;
pub mod hyperparams;
pub mod loss;
pub mod lse;
pub mod monitor;
pub mod targets;

pub use alphabet::Alphabet;
pub use decode::beam::{BeamSearch, BeamState};
pub use decode::lm::NgramLm;
pub use decode::{Hypothesis, WordSpan};
pub use errors::{CtcError, Result};
pub use hyperparams::{
    BeamSearchParams, BeamSearchValidParams, CtcLossParams, CtcLossValidParams, InputKind,
    Reduction,
};
pub use loss::{CtcFloat, CtcLoss, CtcOutput, LossValue};
pub use targets::{Targets, min_input_length};

/// The README's code blocks, compiled and run as doctests.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;
