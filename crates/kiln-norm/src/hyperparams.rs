//! Parameters, validated once (linfa style): an unchecked `XxxParams` with builder setters ->
//! `.check()` -> `XxxValidParams` (private fields, getters; only `check` makes them) -> the
//! layer, built from the valid params.

use kiln_core::KilnError;
use serde::{Deserialize, Serialize};

use crate::errors::{NormError, Result};

/// Which variance a BatchNorm layer folds into its running variance.
///
/// Both layers normalize a training batch with the *biased* batch variance
/// `(1/n) sum (x - mean)^2` (`n` values per channel); they differ only in what they remember.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum VarianceConvention {
    /// PyTorch's `nn.BatchNorm*d`: the running variance tracks the *unbiased* batch variance
    /// `(1/(n-1)) sum (x - mean)^2`. kiln's default, so weights imported from PyTorch keep
    /// their meaning.
    #[default]
    Unbiased,
    /// Burn's `nn::BatchNorm` (0.22): the running variance tracks the biased batch variance.
    Biased,
}

/// Writes getters for the private fields of a valid-params struct.
macro_rules! getters {
    ($t:ty { $($(#[$m:meta])* $f:ident : $ft:ty),* $(,)? }) => {
        impl $t {
            $($(#[$m])* pub fn $f(&self) -> $ft { self.$f.clone() })*
        }
    };
}

fn positive_finite(name: &str, v: f64) -> Result<()> {
    if !(v.is_finite() && v > 0.0) {
        return Err(KilnError::invalid(name, v, "must be finite and > 0").into());
    }
    Ok(())
}

fn momentum_ok(v: f64) -> Result<()> {
    if !(v.is_finite() && (0.0..=1.0).contains(&v)) {
        return Err(KilnError::invalid("momentum", v, "must be in [0, 1]").into());
    }
    Ok(())
}

fn channels_ok(v: usize) -> Result<()> {
    if v == 0 {
        return Err(KilnError::invalid("channels", 0, "must be >= 1").into());
    }
    Ok(())
}

fn groups_ok(layer: &'static str, channels: usize, groups: usize) -> Result<()> {
    if groups == 0 {
        return Err(KilnError::invalid("groups", 0, "must be >= 1").into());
    }
    if !channels.is_multiple_of(groups) {
        return Err(NormError::ChannelsNotDivisible {
            layer,
            channels,
            groups,
        });
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// BatchNorm

/// Unchecked parameters of [`crate::BatchNorm`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BatchNormParams {
    channels: usize,
    epsilon: f64,
    momentum: f64,
    convention: VarianceConvention,
}

impl BatchNormParams {
    /// PyTorch's defaults (Ioffe & Szegedy 2015 as implemented by `nn.BatchNorm2d`):
    /// `epsilon = 1e-5`, `momentum = 0.1`, [`VarianceConvention::Unbiased`].
    pub fn new(channels: usize) -> Self {
        Self {
            channels,
            epsilon: 1e-5,
            momentum: 0.1,
            convention: VarianceConvention::Unbiased,
        }
    }
    /// Added to the variance before the square root: `y = (x - mean) / sqrt(var + epsilon)`.
    pub fn epsilon(mut self, epsilon: f64) -> Self {
        self.epsilon = epsilon;
        self
    }
    /// Running statistics update `running = (1 - momentum) running + momentum batch`
    /// (PyTorch's convention; Keras' momentum is `1 - ` this).
    pub fn momentum(mut self, momentum: f64) -> Self {
        self.momentum = momentum;
        self
    }
    /// Which batch variance the running variance tracks.
    pub fn convention(mut self, convention: VarianceConvention) -> Self {
        self.convention = convention;
        self
    }
    /// Validates: `channels >= 1`, `epsilon > 0` finite, `momentum` in `[0, 1]`.
    pub fn check(&self) -> Result<BatchNormValidParams> {
        channels_ok(self.channels)?;
        positive_finite("epsilon", self.epsilon)?;
        momentum_ok(self.momentum)?;
        Ok(BatchNormValidParams {
            channels: self.channels,
            epsilon: self.epsilon,
            momentum: self.momentum,
            convention: self.convention,
        })
    }
}

/// Checked parameters of [`crate::BatchNorm`] (only [`BatchNormParams::check`] makes them).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BatchNormValidParams {
    channels: usize,
    epsilon: f64,
    momentum: f64,
    convention: VarianceConvention,
}

getters!(BatchNormValidParams {
    /// Number of channels (axis 1 of the input).
    channels: usize,
    /// Variance floor.
    epsilon: f64,
    /// Running-statistics momentum.
    momentum: f64,
    /// Running-variance convention.
    convention: VarianceConvention,
});

// ---------------------------------------------------------------------------------------------
// GroupNorm

/// Unchecked parameters of [`crate::GroupNorm`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GroupNormParams {
    groups: usize,
    channels: usize,
    epsilon: f64,
    affine: bool,
}

impl GroupNormParams {
    /// Wu & He 2018: `groups` groups of `channels / groups` channels each, normalized with
    /// their own mean and biased variance over (channels of the group, spatial axes), then a
    /// per-channel affine. Defaults as PyTorch's `nn.GroupNorm`: `epsilon = 1e-5`, affine on.
    /// The paper's default is 32 groups.
    pub fn new(groups: usize, channels: usize) -> Self {
        Self {
            groups,
            channels,
            epsilon: 1e-5,
            affine: true,
        }
    }
    /// Added to the group variance before the square root.
    pub fn epsilon(mut self, epsilon: f64) -> Self {
        self.epsilon = epsilon;
        self
    }
    /// Whether the layer has a learnable per-channel scale and shift.
    pub fn affine(mut self, affine: bool) -> Self {
        self.affine = affine;
        self
    }
    /// Validates: `groups >= 1` dividing `channels` ([`NormError::ChannelsNotDivisible`], as
    /// PyTorch's `ValueError`), `epsilon > 0` finite.
    pub fn check(&self) -> Result<GroupNormValidParams> {
        channels_ok(self.channels)?;
        groups_ok("GroupNorm", self.channels, self.groups)?;
        positive_finite("epsilon", self.epsilon)?;
        Ok(GroupNormValidParams {
            groups: self.groups,
            channels: self.channels,
            epsilon: self.epsilon,
            affine: self.affine,
        })
    }
}

/// Checked parameters of [`crate::GroupNorm`].
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct GroupNormValidParams {
    groups: usize,
    channels: usize,
    epsilon: f64,
    affine: bool,
}

getters!(GroupNormValidParams {
    /// Number of groups.
    groups: usize,
    /// Number of channels.
    channels: usize,
    /// Variance floor.
    epsilon: f64,
    /// Learnable affine on or off.
    affine: bool,
});

// ---------------------------------------------------------------------------------------------
// Batch Renormalization

/// A clipping bound that moves linearly from `start` to `end`: constant `start` for
/// `warmup_steps` training steps, then linear over `ramp_steps` steps, then `end`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct ClipSchedule {
    /// Value during warm-up.
    pub start: f64,
    /// Value after the ramp.
    pub end: f64,
    /// Steps at `start`.
    pub warmup_steps: u64,
    /// Steps of the linear ramp (0: jump to `end` after the warm-up).
    pub ramp_steps: u64,
}

impl ClipSchedule {
    /// A bound that never changes.
    pub fn constant(value: f64) -> Self {
        Self {
            start: value,
            end: value,
            warmup_steps: 0,
            ramp_steps: 0,
        }
    }
    /// The bound at training step `step` (0-based).
    pub fn at(&self, step: u64) -> f64 {
        if step < self.warmup_steps {
            return self.start;
        }
        let into = step - self.warmup_steps;
        if into >= self.ramp_steps {
            return self.end;
        }
        self.start + (self.end - self.start) * into as f64 / self.ramp_steps as f64
    }
}

/// Unchecked parameters of [`crate::BatchRenorm`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BatchRenormParams {
    channels: usize,
    epsilon: f64,
    momentum: f64,
    r_max: ClipSchedule,
    d_max: ClipSchedule,
    convention: VarianceConvention,
}

impl BatchRenormParams {
    /// Ioffe 2017, "Batch Renormalization": `y = gamma ((x - mu_B)/sigma_B * r + d) + beta`
    /// with `r = clip(sigma_B / sigma, 1/r_max, r_max)` and `d = clip((mu_B - mu)/sigma,
    /// -d_max, d_max)` treated as constants in the backward pass (`sigma = sqrt(running_var +
    /// epsilon)`). The paper's schedules: `r_max` 1 for 5 000 steps then linearly to 3 by step
    /// 40 000; `d_max` 0 for 5 000 steps then linearly to 5 by step 25 000. `epsilon = 1e-5`,
    /// `momentum = 0.1` (PyTorch's BatchNorm defaults), unbiased running variance.
    pub fn new(channels: usize) -> Self {
        Self {
            channels,
            epsilon: 1e-5,
            momentum: 0.1,
            r_max: ClipSchedule {
                start: 1.0,
                end: 3.0,
                warmup_steps: 5_000,
                ramp_steps: 35_000,
            },
            d_max: ClipSchedule {
                start: 0.0,
                end: 5.0,
                warmup_steps: 5_000,
                ramp_steps: 20_000,
            },
            convention: VarianceConvention::Unbiased,
        }
    }
    /// Variance floor.
    pub fn epsilon(mut self, epsilon: f64) -> Self {
        self.epsilon = epsilon;
        self
    }
    /// Running-statistics momentum (PyTorch convention).
    pub fn momentum(mut self, momentum: f64) -> Self {
        self.momentum = momentum;
        self
    }
    /// Schedule of `r_max` (must stay >= 1).
    pub fn r_max(mut self, schedule: ClipSchedule) -> Self {
        self.r_max = schedule;
        self
    }
    /// Schedule of `d_max` (must stay >= 0).
    pub fn d_max(mut self, schedule: ClipSchedule) -> Self {
        self.d_max = schedule;
        self
    }
    /// Running-variance convention.
    pub fn convention(mut self, convention: VarianceConvention) -> Self {
        self.convention = convention;
        self
    }
    /// Validates the BatchNorm rules plus `r_max >= 1` and `d_max >= 0` (finite) at both ends
    /// of their schedules.
    pub fn check(&self) -> Result<BatchRenormValidParams> {
        channels_ok(self.channels)?;
        positive_finite("epsilon", self.epsilon)?;
        momentum_ok(self.momentum)?;
        for v in [self.r_max.start, self.r_max.end] {
            if !(v.is_finite() && v >= 1.0) {
                return Err(KilnError::invalid("r_max", v, "must be finite and >= 1").into());
            }
        }
        for v in [self.d_max.start, self.d_max.end] {
            if !(v.is_finite() && v >= 0.0) {
                return Err(KilnError::invalid("d_max", v, "must be finite and >= 0").into());
            }
        }
        Ok(BatchRenormValidParams {
            channels: self.channels,
            epsilon: self.epsilon,
            momentum: self.momentum,
            r_max: self.r_max,
            d_max: self.d_max,
            convention: self.convention,
        })
    }
}

/// Checked parameters of [`crate::BatchRenorm`].
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BatchRenormValidParams {
    channels: usize,
    epsilon: f64,
    momentum: f64,
    r_max: ClipSchedule,
    d_max: ClipSchedule,
    convention: VarianceConvention,
}

getters!(BatchRenormValidParams {
    /// Number of channels.
    channels: usize,
    /// Variance floor.
    epsilon: f64,
    /// Running-statistics momentum.
    momentum: f64,
    /// Schedule of `r_max`.
    r_max: ClipSchedule,
    /// Schedule of `d_max`.
    d_max: ClipSchedule,
    /// Running-variance convention.
    convention: VarianceConvention,
});

// ---------------------------------------------------------------------------------------------
// Ghost BatchNorm

/// Unchecked parameters of [`crate::GhostBatchNorm`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GhostBatchNormParams {
    channels: usize,
    virtual_batch: usize,
    epsilon: f64,
    momentum: f64,
    convention: VarianceConvention,
}

impl GhostBatchNormParams {
    /// Hoffer, Hubara & Soudry 2017, "Train longer, generalize better": in training, the batch
    /// is split into consecutive virtual ("ghost") batches of `virtual_batch` samples (the
    /// last may be smaller), each normalized with its own statistics, each updating the
    /// running statistics. Default `virtual_batch = 32` (the paper's), BatchNorm's other
    /// defaults.
    pub fn new(channels: usize) -> Self {
        Self {
            channels,
            virtual_batch: 32,
            epsilon: 1e-5,
            momentum: 0.1,
            convention: VarianceConvention::Unbiased,
        }
    }
    /// Samples per ghost batch.
    pub fn virtual_batch(mut self, size: usize) -> Self {
        self.virtual_batch = size;
        self
    }
    /// Variance floor.
    pub fn epsilon(mut self, epsilon: f64) -> Self {
        self.epsilon = epsilon;
        self
    }
    /// Running-statistics momentum (applied once per ghost batch).
    pub fn momentum(mut self, momentum: f64) -> Self {
        self.momentum = momentum;
        self
    }
    /// Running-variance convention.
    pub fn convention(mut self, convention: VarianceConvention) -> Self {
        self.convention = convention;
        self
    }
    /// Validates the BatchNorm rules plus `virtual_batch >= 1`.
    pub fn check(&self) -> Result<GhostBatchNormValidParams> {
        channels_ok(self.channels)?;
        positive_finite("epsilon", self.epsilon)?;
        momentum_ok(self.momentum)?;
        if self.virtual_batch == 0 {
            return Err(KilnError::invalid("virtual_batch", 0, "must be >= 1").into());
        }
        Ok(GhostBatchNormValidParams {
            channels: self.channels,
            virtual_batch: self.virtual_batch,
            epsilon: self.epsilon,
            momentum: self.momentum,
            convention: self.convention,
        })
    }
}

/// Checked parameters of [`crate::GhostBatchNorm`].
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct GhostBatchNormValidParams {
    channels: usize,
    virtual_batch: usize,
    epsilon: f64,
    momentum: f64,
    convention: VarianceConvention,
}

getters!(GhostBatchNormValidParams {
    /// Number of channels.
    channels: usize,
    /// Samples per ghost batch.
    virtual_batch: usize,
    /// Variance floor.
    epsilon: f64,
    /// Running-statistics momentum.
    momentum: f64,
    /// Running-variance convention.
    convention: VarianceConvention,
});

// ---------------------------------------------------------------------------------------------
// FRN + TLU

/// Unchecked parameters of [`crate::Frn`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FrnParams {
    channels: usize,
    epsilon: f64,
}

impl FrnParams {
    /// Singh & Krishnan 2020, "Filter Response Normalization": per sample and channel,
    /// `nu2 = mean over spatial axes of x^2`, `y = gamma x / sqrt(nu2 + epsilon) + beta`, then
    /// the thresholded linear unit `z = max(y, tau)` with a learned per-channel `tau`.
    /// Default `epsilon = 1e-6` (the paper's, for spatial maps larger than 1x1).
    pub fn new(channels: usize) -> Self {
        Self {
            channels,
            epsilon: 1e-6,
        }
    }
    /// Added to `nu2` before the square root.
    pub fn epsilon(mut self, epsilon: f64) -> Self {
        self.epsilon = epsilon;
        self
    }
    /// Validates `channels >= 1`, `epsilon > 0` finite.
    pub fn check(&self) -> Result<FrnValidParams> {
        channels_ok(self.channels)?;
        positive_finite("epsilon", self.epsilon)?;
        Ok(FrnValidParams {
            channels: self.channels,
            epsilon: self.epsilon,
        })
    }
}

/// Checked parameters of [`crate::Frn`].
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FrnValidParams {
    channels: usize,
    epsilon: f64,
}

getters!(FrnValidParams {
    /// Number of channels.
    channels: usize,
    /// Floor added to the mean square.
    epsilon: f64,
});

// ---------------------------------------------------------------------------------------------
// EvoNorm-S0

/// Unchecked parameters of [`crate::EvoNormS0`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EvoNormS0Params {
    groups: usize,
    channels: usize,
    epsilon: f64,
}

impl EvoNormS0Params {
    /// Liu, Brock, Simonyan & Le 2020, "Evolving Normalization-Activation Layers", the
    /// batch-independent S0: `y = x sigmoid(v x) / group_std(x) * gamma + beta`, `group_std`
    /// the square root of the biased variance over (channels of the group, spatial axes) plus
    /// `epsilon`, learned per-channel `v`. Defaults: 32 groups (the paper's), `epsilon = 1e-5`.
    pub fn new(groups: usize, channels: usize) -> Self {
        Self {
            groups,
            channels,
            epsilon: 1e-5,
        }
    }
    /// Variance floor.
    pub fn epsilon(mut self, epsilon: f64) -> Self {
        self.epsilon = epsilon;
        self
    }
    /// Validates `groups` dividing `channels`, `epsilon > 0` finite.
    pub fn check(&self) -> Result<EvoNormS0ValidParams> {
        channels_ok(self.channels)?;
        groups_ok("EvoNormS0", self.channels, self.groups)?;
        positive_finite("epsilon", self.epsilon)?;
        Ok(EvoNormS0ValidParams {
            groups: self.groups,
            channels: self.channels,
            epsilon: self.epsilon,
        })
    }
}

/// Checked parameters of [`crate::EvoNormS0`].
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct EvoNormS0ValidParams {
    groups: usize,
    channels: usize,
    epsilon: f64,
}

getters!(EvoNormS0ValidParams {
    /// Number of groups.
    groups: usize,
    /// Number of channels.
    channels: usize,
    /// Variance floor.
    epsilon: f64,
});

// ---------------------------------------------------------------------------------------------
// Weight Standardization

/// Unchecked parameters of [`crate::WsConv2d`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WsConv2dParams {
    channels_in: usize,
    channels_out: usize,
    kernel: [usize; 2],
    stride: [usize; 2],
    padding: [usize; 2],
    bias: bool,
    epsilon: f64,
}

impl WsConv2dParams {
    /// Qiao et al. 2019, "Micro-Batch Training with Batch-Channel Normalization and Weight
    /// Standardization": the convolution uses `W_hat = (W - mean(W)) / sqrt(var(W) +
    /// epsilon)`, mean and biased variance per output channel over (input channels, kernel).
    /// The usual partner of GroupNorm at small batch. Defaults: 3x3 kernel, stride 1, padding
    /// 1, bias on, `epsilon = 1e-5`.
    pub fn new(channels_in: usize, channels_out: usize) -> Self {
        Self {
            channels_in,
            channels_out,
            kernel: [3, 3],
            stride: [1, 1],
            padding: [1, 1],
            bias: true,
            epsilon: 1e-5,
        }
    }
    /// Kernel size `[kh, kw]`.
    pub fn kernel(mut self, kernel: [usize; 2]) -> Self {
        self.kernel = kernel;
        self
    }
    /// Stride.
    pub fn stride(mut self, stride: [usize; 2]) -> Self {
        self.stride = stride;
        self
    }
    /// Zero padding on each side.
    pub fn padding(mut self, padding: [usize; 2]) -> Self {
        self.padding = padding;
        self
    }
    /// Whether the convolution has a bias.
    pub fn bias(mut self, bias: bool) -> Self {
        self.bias = bias;
        self
    }
    /// Variance floor of the weight standardization.
    pub fn epsilon(mut self, epsilon: f64) -> Self {
        self.epsilon = epsilon;
        self
    }
    /// Validates channels, kernel and stride >= 1, `epsilon > 0` finite.
    pub fn check(&self) -> Result<WsConv2dValidParams> {
        channels_ok(self.channels_in)?;
        channels_ok(self.channels_out)?;
        if self.kernel.contains(&0) {
            return Err(
                KilnError::invalid("kernel", format!("{:?}", self.kernel), "must be >= 1").into(),
            );
        }
        if self.stride.contains(&0) {
            return Err(
                KilnError::invalid("stride", format!("{:?}", self.stride), "must be >= 1").into(),
            );
        }
        positive_finite("epsilon", self.epsilon)?;
        Ok(WsConv2dValidParams {
            channels_in: self.channels_in,
            channels_out: self.channels_out,
            kernel: self.kernel,
            stride: self.stride,
            padding: self.padding,
            bias: self.bias,
            epsilon: self.epsilon,
        })
    }
}

/// Checked parameters of [`crate::WsConv2d`].
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct WsConv2dValidParams {
    channels_in: usize,
    channels_out: usize,
    kernel: [usize; 2],
    stride: [usize; 2],
    padding: [usize; 2],
    bias: bool,
    epsilon: f64,
}

getters!(WsConv2dValidParams {
    /// Input channels.
    channels_in: usize,
    /// Output channels.
    channels_out: usize,
    /// Kernel size.
    kernel: [usize; 2],
    /// Stride.
    stride: [usize; 2],
    /// Padding.
    padding: [usize; 2],
    /// Bias on or off.
    bias: bool,
    /// Variance floor.
    epsilon: f64,
});

// ---------------------------------------------------------------------------------------------
// PreciseBN

/// Unchecked parameters of [`crate::precise::precise_bn`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PreciseBnParams {
    num_batches: usize,
}

impl Default for PreciseBnParams {
    fn default() -> Self {
        Self::new()
    }
}

impl PreciseBnParams {
    /// Wu & Johnson 2021, "Rethinking 'Batch' in BatchNorm" (Detectron2's `PreciseBN`): after
    /// training, replace the exponential moving averages by the plain average of the batch
    /// means and batch variances over `num_batches` batches with the weights frozen.
    /// Default 200 batches (Detectron2's `NUM_ITER`).
    pub fn new() -> Self {
        Self { num_batches: 200 }
    }
    /// How many batches the population statistics average over.
    pub fn num_batches(mut self, n: usize) -> Self {
        self.num_batches = n;
        self
    }
    /// Validates `num_batches >= 1`.
    pub fn check(&self) -> Result<PreciseBnValidParams> {
        if self.num_batches == 0 {
            return Err(KilnError::invalid("num_batches", 0, "must be >= 1").into());
        }
        Ok(PreciseBnValidParams {
            num_batches: self.num_batches,
        })
    }
}

/// Checked parameters of [`crate::precise::precise_bn`].
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PreciseBnValidParams {
    num_batches: usize,
}

getters!(PreciseBnValidParams {
    /// Batches averaged.
    num_batches: usize,
});

// ---------------------------------------------------------------------------------------------
// Running-variance conversion

/// Unchecked parameters of [`crate::convention::convert_running_var`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunningVarParams {
    samples_per_channel: usize,
    momentum: f64,
    steps: Option<u64>,
    initial_var: f64,
}

impl RunningVarParams {
    /// Every training batch had `samples_per_channel = n` values per channel
    /// (`batch * height * width`). With the steps unknown (`None`, the default) the
    /// conversion is the long-training limit `biased = unbiased (n-1)/n`; with
    /// `steps = num_batches_tracked` (PyTorch keeps it in the state dict) it is exact:
    /// the initial value's share `(1-m)^t initial_var` is kept out of the rescaling.
    /// Defaults: momentum 0.1, initial variance 1 (PyTorch's and Burn's).
    pub fn new(samples_per_channel: usize) -> Self {
        Self {
            samples_per_channel,
            momentum: 0.1,
            steps: None,
            initial_var: 1.0,
        }
    }
    /// Momentum used in training.
    pub fn momentum(mut self, momentum: f64) -> Self {
        self.momentum = momentum;
        self
    }
    /// Number of training steps (PyTorch's `num_batches_tracked`).
    pub fn steps(mut self, steps: u64) -> Self {
        self.steps = Some(steps);
        self
    }
    /// Running variance at initialization.
    pub fn initial_var(mut self, v: f64) -> Self {
        self.initial_var = v;
        self
    }
    /// Validates `samples_per_channel >= 2` (one value has no unbiased variance), momentum
    /// in `[0, 1]`, `initial_var >= 0` finite.
    pub fn check(&self) -> Result<RunningVarValidParams> {
        if self.samples_per_channel < 2 {
            return Err(KilnError::invalid(
                "samples_per_channel",
                self.samples_per_channel,
                "must be >= 2 (the unbiased variance of one value is undefined)",
            )
            .into());
        }
        momentum_ok(self.momentum)?;
        if !(self.initial_var.is_finite() && self.initial_var >= 0.0) {
            return Err(KilnError::invalid(
                "initial_var",
                self.initial_var,
                "must be finite and >= 0",
            )
            .into());
        }
        Ok(RunningVarValidParams {
            samples_per_channel: self.samples_per_channel,
            momentum: self.momentum,
            steps: self.steps,
            initial_var: self.initial_var,
        })
    }
}

/// Checked parameters of [`crate::convention::convert_running_var`].
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RunningVarValidParams {
    samples_per_channel: usize,
    momentum: f64,
    steps: Option<u64>,
    initial_var: f64,
}

getters!(RunningVarValidParams {
    /// Values per channel in each training batch.
    samples_per_channel: usize,
    /// Training momentum.
    momentum: f64,
    /// Training steps, if known.
    steps: Option<u64>,
    /// Initial running variance.
    initial_var: f64,
});

// ---------------------------------------------------------------------------------------------
// The sweep (seed experiment)

/// Unchecked parameters of [`crate::experiment::sweep`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SweepParams {
    norms: Vec<crate::norm::NormKind>,
    batch_sizes: Vec<usize>,
    quick: bool,
    seed: u64,
}

impl SweepParams {
    /// The grid: BatchNorm, GroupNorm, BatchNorm + PreciseBN and Batch Renorm at batch
    /// sizes 32, 16, 8, 4, 2 (Wu & He 2018's), the full-size run, seed 0.
    pub fn new() -> Self {
        use crate::norm::NormKind;
        Self {
            norms: vec![
                NormKind::Batch,
                NormKind::Group,
                NormKind::PreciseBn,
                NormKind::BatchRenorm,
            ],
            batch_sizes: vec![32, 16, 8, 4, 2],
            quick: false,
            seed: 0,
        }
    }
    /// Which normalizations to train.
    pub fn norms(mut self, norms: Vec<crate::norm::NormKind>) -> Self {
        self.norms = norms;
        self
    }
    /// Training batch sizes.
    pub fn batch_sizes(mut self, sizes: Vec<usize>) -> Self {
        self.batch_sizes = sizes;
        self
    }
    /// Seconds-scale run (not converged).
    pub fn quick(mut self, quick: bool) -> Self {
        self.quick = quick;
        self
    }
    /// Seed of data, initialization and shuffling.
    pub fn seed(mut self, seed: u64) -> Self {
        self.seed = seed;
        self
    }
    /// Validates: at least one norm and one batch size, batch sizes in 2..=64 (a batch of 1
    /// gives BatchNorm a single sample per step), no duplicates.
    pub fn check(&self) -> Result<SweepValidParams> {
        if self.norms.is_empty() {
            return Err(KilnError::Empty("sweep norms".into()).into());
        }
        if self.batch_sizes.is_empty() {
            return Err(KilnError::Empty("sweep batch sizes".into()).into());
        }
        if let Some(b) = self.batch_sizes.iter().find(|b| !(2..=64).contains(*b)) {
            return Err(KilnError::invalid("batch_size", b, "must be in 2..=64").into());
        }
        let mut norms = self.norms.clone();
        norms.dedup();
        let mut sizes = self.batch_sizes.clone();
        sizes.dedup();
        Ok(SweepValidParams {
            norms,
            batch_sizes: sizes,
            quick: self.quick,
            seed: self.seed,
        })
    }
}

impl Default for SweepParams {
    fn default() -> Self {
        Self::new()
    }
}

/// Checked parameters of [`crate::experiment::sweep`].
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SweepValidParams {
    norms: Vec<crate::norm::NormKind>,
    batch_sizes: Vec<usize>,
    quick: bool,
    seed: u64,
}

getters!(SweepValidParams {
    /// Normalizations.
    norms: Vec<crate::norm::NormKind>,
    /// Training batch sizes.
    batch_sizes: Vec<usize>,
    /// Quick run.
    quick: bool,
    /// Seed.
    seed: u64,
});
