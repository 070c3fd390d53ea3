//! BatchNorm with PyTorch's running-variance convention, built on Burn's `nn::BatchNorm` and
//! its `batch_norm_train` op.

use kiln_core::burn;

use burn::module::{Module, Param, RunningState};
use burn::nn::BatchNormConfig;
use burn::tensor::{DType, Device, Tensor};

use crate::errors::{Result, check_batch_stats, check_dtype, check_input};
use crate::hyperparams::{BatchNormValidParams, VarianceConvention};
use crate::stats::{ema_update, filled, is_training, per_channel, tracked_variance};

/// Batch Normalization (Ioffe & Szegedy 2015) whose running variance follows a chosen
/// [`VarianceConvention`] — PyTorch's unbiased one by default, where Burn's `nn::BatchNorm`
/// keeps the biased one.
///
/// The layer *is* a Burn `nn::BatchNorm` (same fields, same record) plus the convention: the
/// training output and its gradient come from Burn's fused `batch_norm_train` op, inference
/// from Burn's own forward; only the running-statistics update is kiln's, done with exact
/// f64 scalars so f64 models match PyTorch to rounding.
///
/// Training mode follows Burn: an autodiff device and the layer's training flag on
/// ([`Module::valid`] turns it off). Inputs are `[batch, channels, ...]`, rank >= 2.
#[derive(Module, Debug)]
pub struct BatchNorm {
    inner: burn::nn::BatchNorm,
    unbiased: bool,
}

impl BatchNorm {
    /// A fresh layer (gamma 1, beta 0, running mean 0, running variance 1) in the device's
    /// default float type.
    pub fn new(params: &BatchNormValidParams, device: &Device) -> Self {
        let dtype = Tensor::<1>::zeros([1], device).dtype();
        Self::with_dtype(params, device, dtype)
    }

    /// A fresh layer whose tensors have `dtype` (e.g. `DType::F64` for parity checks on an
    /// f32-default device).
    pub fn with_dtype(params: &BatchNormValidParams, device: &Device, dtype: DType) -> Self {
        let c = params.channels();
        let mut inner = BatchNormConfig::new(c)
            .with_epsilon(params.epsilon())
            .with_momentum(params.momentum())
            .init(device);
        inner.gamma = Param::from_tensor(filled(1.0, c, device, dtype));
        inner.beta = Param::from_tensor(filled(0.0, c, device, dtype));
        inner.running_mean = RunningState::new(filled(0.0, c, device, dtype));
        inner.running_var = RunningState::new(filled(1.0, c, device, dtype));
        Self {
            inner,
            unbiased: params.convention() == VarianceConvention::Unbiased,
        }
    }

    /// Wraps a Burn `nn::BatchNorm` as is, declaring which convention its running variance
    /// follows (Burn's own training keeps [`VarianceConvention::Biased`]; convert imported
    /// statistics with [`crate::convention::convert_running_var`] first if needed).
    pub fn from_burn(inner: burn::nn::BatchNorm, convention: VarianceConvention) -> Self {
        Self {
            inner,
            unbiased: convention == VarianceConvention::Unbiased,
        }
    }

    /// The wrapped Burn layer (its running variance in this layer's convention).
    pub fn into_burn(self) -> burn::nn::BatchNorm {
        self.inner
    }

    /// Replaces gamma and beta (shape `[channels]` each).
    pub fn with_affine(mut self, gamma: Tensor<1>, beta: Tensor<1>) -> Result<Self> {
        let c = self.channels();
        for (name, t) in [("gamma", &gamma), ("beta", &beta)] {
            if t.dims() != [c] {
                return Err(kiln_core::KilnError::shape(
                    format!("BatchNorm {name}"),
                    format!("[{c}]"),
                    format!("{:?}", t.dims()),
                )
                .into());
            }
        }
        self.inner.gamma = Param::from_tensor(gamma);
        self.inner.beta = Param::from_tensor(beta);
        Ok(self)
    }

    /// Replaces the running statistics (shape `[channels]` each, in this layer's convention).
    pub fn with_running_stats(self, mean: Tensor<1>, var: Tensor<1>) -> Result<Self> {
        let c = self.channels();
        for (name, t) in [("running_mean", &mean), ("running_var", &var)] {
            if t.dims() != [c] {
                return Err(kiln_core::KilnError::shape(
                    format!("BatchNorm {name}"),
                    format!("[{c}]"),
                    format!("{:?}", t.dims()),
                )
                .into());
            }
        }
        self.inner.running_mean.update(mean);
        self.inner.running_var.update(var);
        Ok(self)
    }

    /// Number of channels.
    pub fn channels(&self) -> usize {
        self.inner.gamma.dims()[0]
    }
    /// Variance floor.
    pub fn epsilon(&self) -> f64 {
        self.inner.epsilon
    }
    /// Running-statistics momentum.
    pub fn momentum(&self) -> f64 {
        self.inner.momentum
    }
    /// Sets the momentum (PreciseBN uses `1/(k+1)` for a plain average).
    pub(crate) fn set_momentum(&mut self, momentum: f64) {
        self.inner.momentum = momentum;
    }
    /// Running-variance convention.
    pub fn convention(&self) -> VarianceConvention {
        if self.unbiased {
            VarianceConvention::Unbiased
        } else {
            VarianceConvention::Biased
        }
    }
    /// The scale gamma (gradients reachable through it).
    pub fn gamma(&self) -> Tensor<1> {
        self.inner.gamma.val()
    }
    /// The shift beta.
    pub fn beta(&self) -> Tensor<1> {
        self.inner.beta.val()
    }
    /// The running mean.
    pub fn running_mean(&self) -> Tensor<1> {
        self.inner.running_mean.value_sync()
    }
    /// The running variance, in [`BatchNorm::convention`].
    pub fn running_var(&self) -> Tensor<1> {
        self.inner.running_var.value_sync()
    }
    /// Whether the training flag is on.
    pub fn is_training_enabled(&self) -> bool {
        self.inner.training.is_enabled()
    }

    /// Normalizes `input` (`[batch, channels, ...]`): with batch statistics and a running
    /// update in training mode, with the running statistics otherwise.
    ///
    /// Errors: rank < 2 ([`crate::NormError::RankTooLow`]), wrong channel count, an empty axis, and in
    /// training a single value per channel ([`crate::NormError::SingleValuePerChannel`], where
    /// PyTorch raises and Burn silently returns beta).
    pub fn forward<const D: usize>(&self, input: Tensor<D>) -> Result<Tensor<D>> {
        let shape = input.dims();
        check_input("BatchNorm", &shape, self.channels(), 2)?;
        check_dtype("BatchNorm", input.dtype(), self.inner.gamma.val().dtype())?;
        if !is_training(&input.device(), self.is_training_enabled()) {
            return Ok(self.inner.forward(input));
        }
        check_batch_stats("BatchNorm", &shape)?;
        Ok(self.forward_train(input))
    }

    /// Training path on a checked input: Burn's fused op, then kiln's running update.
    pub(crate) fn forward_train<const D: usize>(&self, input: Tensor<D>) -> Tensor<D> {
        let n = per_channel(&input.dims());
        let r = burn::tensor::module::batch_norm_train(
            input,
            self.inner.gamma.val(),
            self.inner.beta.val(),
            self.inner.epsilon,
        );
        let var = tracked_variance(r.variance, n, self.convention());
        ema_update(&self.inner.running_mean, r.mean, self.inner.momentum);
        ema_update(&self.inner.running_var, var, self.inner.momentum);
        r.output
    }
}
