//! A runtime choice of normalization layer, and the swap and PreciseBN utilities that work on
//! every [`Norm`] site of a model.

use std::fmt;
use std::str::FromStr;

use kiln_core::KilnError;
use kiln_core::burn;

use burn::module::Module;
use burn::tensor::{Device, Tensor};
use serde::{Deserialize, Serialize};

use crate::batch::BatchNorm;
use crate::errors::Result;
use crate::evonorm::EvoNormS0;
use crate::frn::Frn;
use crate::ghost::GhostBatchNorm;
use crate::group::GroupNorm;
use crate::hyperparams::{
    BatchNormParams, BatchRenormParams, ClipSchedule, EvoNormS0Params, FrnParams,
    GhostBatchNormParams, GroupNormParams,
};
use crate::renorm::BatchRenorm;

/// The normalization layers a [`Norm`] site can hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum NormKind {
    /// [`BatchNorm`] (PyTorch convention).
    Batch,
    /// [`GroupNorm`].
    Group,
    /// [`BatchRenorm`].
    BatchRenorm,
    /// [`BatchNorm`] trained as usual, then its running statistics recomputed by
    /// [`precise_bn`](crate::precise::precise_bn); as a layer it is a BatchNorm.
    PreciseBn,
    /// [`GhostBatchNorm`].
    Ghost,
    /// [`Frn`] + TLU.
    Frn,
    /// [`EvoNormS0`].
    EvoNormS0,
}

impl NormKind {
    /// Every kind.
    pub const ALL: [NormKind; 7] = [
        NormKind::Batch,
        NormKind::Group,
        NormKind::BatchRenorm,
        NormKind::PreciseBn,
        NormKind::Ghost,
        NormKind::Frn,
        NormKind::EvoNormS0,
    ];

    /// The name used on the command line and in JSON.
    pub fn name(self) -> &'static str {
        match self {
            NormKind::Batch => "batch",
            NormKind::Group => "group",
            NormKind::BatchRenorm => "batch-renorm",
            NormKind::PreciseBn => "precise-bn",
            NormKind::Ghost => "ghost",
            NormKind::Frn => "frn",
            NormKind::EvoNormS0 => "evonorm-s0",
        }
    }

    /// Whether the layer uses batch statistics in training (and so can disagree with
    /// inference).
    pub fn uses_batch_statistics(self) -> bool {
        matches!(
            self,
            NormKind::Batch | NormKind::BatchRenorm | NormKind::PreciseBn | NormKind::Ghost
        )
    }
}

impl fmt::Display for NormKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for NormKind {
    type Err = KilnError;
    fn from_str(s: &str) -> Result<Self, KilnError> {
        let t = s.trim().to_ascii_lowercase();
        NormKind::ALL
            .into_iter()
            .find(|k| k.name() == t)
            .ok_or_else(|| {
                let names: Vec<&str> = NormKind::ALL.iter().map(|k| k.name()).collect();
                KilnError::invalid("norm", s, format!("expected one of: {}", names.join(", ")))
            })
    }
}

/// How [`Norm::build`] configures each kind (the per-kind options a model passes down).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NormOptions {
    /// Groups of GroupNorm and EvoNorm-S0 (reduced to the largest divisor of the channel
    /// count not above it). Default 32, the paper's.
    pub groups: usize,
    /// Ghost batch size. Default 32.
    pub virtual_batch: usize,
    /// Batch Renorm's `r_max` schedule. Default: the paper's.
    pub r_max: ClipSchedule,
    /// Batch Renorm's `d_max` schedule. Default: the paper's.
    pub d_max: ClipSchedule,
}

impl Default for NormOptions {
    fn default() -> Self {
        let p = BatchRenormParams::new(1)
            .check()
            .expect("defaults are valid");
        Self {
            groups: 32,
            virtual_batch: 32,
            r_max: p.r_max(),
            d_max: p.d_max(),
        }
    }
}

/// The largest divisor of `channels` that is at most `groups` (at least 1).
pub fn fit_groups(channels: usize, groups: usize) -> usize {
    (1..=groups.clamp(1, channels.max(1)))
        .rev()
        .find(|g| channels.is_multiple_of(*g))
        .unwrap_or(1)
}

/// A normalization site whose layer is chosen at run time: what kiln models put wherever a
/// normalization goes, so one model definition serves every kind and [`swap_batch_for_group`]
/// and [`precise_bn`](crate::precise::precise_bn) can reach every site.
#[derive(Module, Debug)]
pub enum Norm {
    /// BatchNorm (also for [`NormKind::PreciseBn`]).
    Batch(BatchNorm),
    /// GroupNorm.
    Group(GroupNorm),
    /// Batch Renormalization.
    BatchRenorm(BatchRenorm),
    /// Ghost BatchNorm.
    Ghost(GhostBatchNorm),
    /// FRN + TLU.
    Frn(Frn),
    /// EvoNorm-S0.
    EvoNormS0(EvoNormS0),
}

impl Norm {
    /// A fresh layer of `kind` for `channels` channels, default epsilon and momentum.
    pub fn build(
        kind: NormKind,
        channels: usize,
        options: &NormOptions,
        device: &Device,
    ) -> Result<Self> {
        let groups = fit_groups(channels, options.groups);
        Ok(match kind {
            NormKind::Batch | NormKind::PreciseBn => Norm::Batch(BatchNorm::new(
                &BatchNormParams::new(channels).check()?,
                device,
            )),
            NormKind::Group => Norm::Group(GroupNorm::new(
                &GroupNormParams::new(groups, channels).check()?,
                device,
            )),
            NormKind::BatchRenorm => Norm::BatchRenorm(BatchRenorm::new(
                &BatchRenormParams::new(channels)
                    .r_max(options.r_max)
                    .d_max(options.d_max)
                    .check()?,
                device,
            )),
            NormKind::Ghost => Norm::Ghost(GhostBatchNorm::new(
                &GhostBatchNormParams::new(channels)
                    .virtual_batch(options.virtual_batch)
                    .check()?,
                device,
            )),
            NormKind::Frn => Norm::Frn(Frn::new(&FrnParams::new(channels).check()?, device)),
            NormKind::EvoNormS0 => Norm::EvoNormS0(EvoNormS0::new(
                &EvoNormS0Params::new(groups, channels).check()?,
                device,
            )),
        })
    }

    /// Applies the layer.
    pub fn forward<const D: usize>(&self, input: Tensor<D>) -> Result<Tensor<D>> {
        match self {
            Norm::Batch(l) => l.forward(input),
            Norm::Group(l) => l.forward(input),
            Norm::BatchRenorm(l) => l.forward(input),
            Norm::Ghost(l) => l.forward(input),
            Norm::Frn(l) => l.forward(input),
            Norm::EvoNormS0(l) => l.forward(input),
        }
    }

    /// The BatchNorm holding running statistics that PreciseBN recomputes (BatchNorm and
    /// Ghost BatchNorm sites).
    pub fn batch_norm_mut(&mut self) -> Option<&mut BatchNorm> {
        match self {
            Norm::Batch(l) => Some(l),
            Norm::Ghost(l) => Some(l.batch_norm_mut()),
            _ => None,
        }
    }
}

/// A model whose normalization sites are [`Norm`]s: implement this (list every site) to use
/// [`swap_batch_for_group`] and [`precise_bn`](crate::precise::precise_bn).
pub trait NormSites {
    /// Calls `f` on every normalization site, in a fixed order.
    fn for_each_norm(&mut self, f: &mut dyn FnMut(&mut Norm));
}

/// Replaces every [`Norm::Batch`] site of `model` by a GroupNorm with
/// `fit_groups(channels, groups)` groups, keeping the site's learned gamma and beta (running
/// statistics are dropped: GroupNorm has none). Returns how many sites were swapped.
///
/// Limits: Burn modules are statically typed, so only sites declared as [`Norm`] can change
/// kind; a plain `burn::nn::BatchNorm` field cannot be replaced in place (rebuild the model
/// with `Norm` fields and load its record, BatchNorm's tensors keep their names under
/// `Norm::Batch`). The new GroupNorm is only as good as retraining makes it: the affine of a
/// BatchNorm was learned for batch statistics.
pub fn swap_batch_for_group<M: NormSites>(model: &mut M, groups: usize) -> Result<usize> {
    if groups == 0 {
        return Err(KilnError::invalid("groups", 0, "must be >= 1").into());
    }
    let mut swapped = 0;
    let mut failure = None;
    model.for_each_norm(&mut |site: &mut Norm| {
        if failure.is_some() {
            return;
        }
        if let Norm::Batch(bn) = site {
            let c = bn.channels();
            let gamma = bn.gamma();
            let device = gamma.device();
            let made = GroupNormParams::new(fit_groups(c, groups), c)
                .epsilon(bn.epsilon())
                .check()
                .and_then(|p| {
                    GroupNorm::with_dtype(&p, &device, gamma.dtype())
                        .with_affine(gamma.detach(), bn.beta().detach())
                });
            match made {
                Ok(gn) => {
                    *site = Norm::Group(gn);
                    swapped += 1;
                }
                Err(e) => failure = Some(e),
            }
        }
    });
    match failure {
        Some(e) => Err(e),
        None => Ok(swapped),
    }
}
