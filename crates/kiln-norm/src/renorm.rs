//! Batch Renormalization (Ioffe 2017).

use kiln_core::burn;

use burn::module::{Flag, Module, Param, RunningState};
use burn::tensor::{DType, Device, Tensor};

use crate::errors::{Result, check_batch_stats, check_dtype, check_input, check_vector};
use crate::hyperparams::{BatchRenormValidParams, ClipSchedule, VarianceConvention};
use crate::stats::{
    ema_update, filled, is_training, per_channel, per_channel_view, tracked_variance,
};

/// Batch Renormalization: BatchNorm whose training output is corrected towards the running
/// statistics, `y = gamma ((x - mu_B)/sigma_B * r + d) + beta`, with
/// `r = clip(sigma_B / sigma, 1/r_max, r_max)` and `d = clip((mu_B - mu)/sigma, -d_max, d_max)`
/// held constant in the backward pass. Training and inference then agree once the clips open,
/// which is what makes small or non-i.i.d. batches usable. With `r_max = 1, d_max = 0` it is
/// exactly [`crate::BatchNorm`].
///
/// The clip bounds follow [`ClipSchedule`]s of the training step, counted by the layer in
/// `num_batches_tracked` (a running state, saved with the record). Inference uses the running
/// statistics like BatchNorm.
#[derive(Module, Debug)]
pub struct BatchRenorm {
    gamma: Param<Tensor<1>>,
    beta: Param<Tensor<1>>,
    running_mean: RunningState<Tensor<1>>,
    running_var: RunningState<Tensor<1>>,
    num_batches_tracked: RunningState<Tensor<1>>,
    training: Param<Flag>,
    epsilon: f64,
    momentum: f64,
    unbiased: bool,
    #[module(skip)]
    r_max: ClipSchedule,
    #[module(skip)]
    d_max: ClipSchedule,
}

impl BatchRenorm {
    /// A fresh layer in the device's default float type.
    pub fn new(params: &BatchRenormValidParams, device: &Device) -> Self {
        let dtype = Tensor::<1>::zeros([1], device).dtype();
        Self::with_dtype(params, device, dtype)
    }

    /// A fresh layer whose tensors have `dtype`.
    pub fn with_dtype(params: &BatchRenormValidParams, device: &Device, dtype: DType) -> Self {
        let c = params.channels();
        Self {
            gamma: Param::from_tensor(filled(1.0, c, device, dtype)),
            beta: Param::from_tensor(filled(0.0, c, device, dtype)),
            running_mean: RunningState::new(filled(0.0, c, device, dtype)),
            running_var: RunningState::new(filled(1.0, c, device, dtype)),
            num_batches_tracked: RunningState::new(filled(0.0, 1, device, dtype)),
            training: Param::from_bool(true),
            epsilon: params.epsilon(),
            momentum: params.momentum(),
            unbiased: params.convention() == VarianceConvention::Unbiased,
            r_max: params.r_max(),
            d_max: params.d_max(),
        }
    }

    /// Replaces gamma and beta (shape `[channels]` each).
    pub fn with_affine(mut self, gamma: Tensor<1>, beta: Tensor<1>) -> Result<Self> {
        check_vector("BatchRenorm gamma", &gamma, self.channels())?;
        check_vector("BatchRenorm beta", &beta, self.channels())?;
        self.gamma = Param::from_tensor(gamma);
        self.beta = Param::from_tensor(beta);
        Ok(self)
    }

    /// Replaces the running statistics (shape `[channels]` each).
    pub fn with_running_stats(self, mean: Tensor<1>, var: Tensor<1>) -> Result<Self> {
        check_vector("BatchRenorm running_mean", &mean, self.channels())?;
        check_vector("BatchRenorm running_var", &var, self.channels())?;
        self.running_mean.update(mean);
        self.running_var.update(var);
        Ok(self)
    }

    /// Number of channels.
    pub fn channels(&self) -> usize {
        self.gamma.dims()[0]
    }
    /// The scale gamma.
    pub fn gamma(&self) -> Tensor<1> {
        self.gamma.val()
    }
    /// The shift beta.
    pub fn beta(&self) -> Tensor<1> {
        self.beta.val()
    }
    /// The running mean.
    pub fn running_mean(&self) -> Tensor<1> {
        self.running_mean.value_sync()
    }
    /// The running variance.
    pub fn running_var(&self) -> Tensor<1> {
        self.running_var.value_sync()
    }
    /// Training steps taken so far.
    pub fn steps(&self) -> Result<u64> {
        let v = kiln_core::convert::to_vec_f64(&self.num_batches_tracked.value_sync())?;
        Ok(v.first().copied().unwrap_or(0.0) as u64)
    }
    /// `(r_max, d_max)` at the current step.
    pub fn clip_bounds(&self) -> Result<(f64, f64)> {
        let s = self.steps()?;
        Ok((self.r_max.at(s), self.d_max.at(s)))
    }

    /// Normalizes `input` (`[batch, channels, ...]`, rank >= 2). Errors as
    /// [`crate::BatchNorm::forward`].
    pub fn forward<const D: usize>(&self, input: Tensor<D>) -> Result<Tensor<D>> {
        let shape = input.dims();
        check_input("BatchRenorm", &shape, self.channels(), 2)?;
        check_dtype("BatchRenorm", input.dtype(), self.gamma.val().dtype())?;
        let device = input.device();
        if !is_training(&device, self.training.is_enabled()) {
            let dev = device.clone();
            return Ok(burn::tensor::module::batch_norm(
                input,
                self.gamma.val(),
                self.beta.val(),
                self.running_mean.value().to_device(&dev),
                self.running_var.value().to_device(&dev),
                self.epsilon,
            ));
        }
        check_batch_stats("BatchRenorm", &shape)?;
        let (r_max, d_max) = self.clip_bounds()?;
        let n = per_channel(&shape);
        let c = self.channels();
        let dtype = self.gamma.val().dtype();
        let r = burn::tensor::module::batch_norm_train(
            input,
            filled(1.0, c, &device, dtype),
            filled(0.0, c, &device, dtype),
            self.epsilon,
        );
        let eps = filled(self.epsilon, c, &device, dtype);
        let mu = self.running_mean.value_sync().to_device(&device);
        let sigma = (self.running_var.value_sync().to_device(&device) + eps.clone()).sqrt();
        let sigma_b = (r.variance.clone() + eps).sqrt();
        let rr = (sigma_b / sigma.clone()).clamp(1.0 / r_max, r_max).detach();
        let dd = ((r.mean.clone() - mu) / sigma)
            .clamp(-d_max, d_max)
            .detach();
        let y = (r.output * per_channel_view::<D>(rr) + per_channel_view::<D>(dd))
            * per_channel_view::<D>(self.gamma.val())
            + per_channel_view::<D>(self.beta.val());
        let var = tracked_variance(
            r.variance,
            n,
            if self.unbiased {
                VarianceConvention::Unbiased
            } else {
                VarianceConvention::Biased
            },
        );
        ema_update(&self.running_mean, r.mean, self.momentum);
        ema_update(&self.running_var, var, self.momentum);
        let count = self.num_batches_tracked.value_sync().to_device(&device);
        let one = filled(1.0, 1, &device, count.dtype());
        self.num_batches_tracked.update((count + one).detach());
        Ok(y)
    }
}
