//! EvoNorm-S0 (Liu, Brock, Simonyan & Le 2020).

use kiln_core::burn;

use burn::module::{Module, Param};
use burn::tensor::activation::sigmoid;
use burn::tensor::{DType, Device, Tensor};

use crate::errors::{Result, check_dtype, check_input};
use crate::hyperparams::EvoNormS0ValidParams;
use crate::stats::{filled, scalar};

/// EvoNorm-S0, the batch-independent normalization-activation layer found by evolution:
/// `y = x sigmoid(v x) / group_std(x) * gamma + beta`, with `group_std` the square root of the
/// biased variance over (channels of the group, spatial axes) plus `epsilon`, as GroupNorm's.
/// Input `[batch, channels, spatial...]`, rank >= 3.
#[derive(Module, Debug)]
pub struct EvoNormS0 {
    gamma: Param<Tensor<1>>,
    beta: Param<Tensor<1>>,
    v: Param<Tensor<1>>,
    groups: usize,
    epsilon: f64,
}

impl EvoNormS0 {
    /// A fresh layer (gamma 1, beta 0, v 1, as in the paper) in the device's default float
    /// type.
    pub fn new(params: &EvoNormS0ValidParams, device: &Device) -> Self {
        let dtype = Tensor::<1>::zeros([1], device).dtype();
        Self::with_dtype(params, device, dtype)
    }

    /// A fresh layer whose tensors have `dtype`.
    pub fn with_dtype(params: &EvoNormS0ValidParams, device: &Device, dtype: DType) -> Self {
        let c = params.channels();
        Self {
            gamma: Param::from_tensor(filled(1.0, c, device, dtype)),
            beta: Param::from_tensor(filled(0.0, c, device, dtype)),
            v: Param::from_tensor(filled(1.0, c, device, dtype)),
            groups: params.groups(),
            epsilon: params.epsilon(),
        }
    }

    /// Replaces gamma, beta and v (shape `[channels]` each).
    pub fn with_params(mut self, gamma: Tensor<1>, beta: Tensor<1>, v: Tensor<1>) -> Self {
        self.gamma = Param::from_tensor(gamma);
        self.beta = Param::from_tensor(beta);
        self.v = Param::from_tensor(v);
        self
    }

    /// Number of channels.
    pub fn channels(&self) -> usize {
        self.gamma.dims()[0]
    }

    /// Applies the layer.
    pub fn forward<const D: usize>(&self, input: Tensor<D>) -> Result<Tensor<D>> {
        let shape = input.dims();
        let c = self.channels();
        check_input("EvoNormS0", &shape, c, 3)?;
        check_dtype("EvoNormS0", input.dtype(), self.gamma.val().dtype())?;
        let (b, l, g) = (shape[0], shape[2..].iter().product::<usize>(), self.groups);
        let x = input.reshape([b, c, l]);
        let view = |t: Tensor<1>| t.reshape([1, c, 1]);
        let num = x.clone() * sigmoid(x.clone() * view(self.v.val()));
        let xg = x.reshape([b, g, c / g * l]);
        let centred = xg.clone() - xg.mean_dim(2);
        let var = (centred.clone() * centred).mean_dim(2);
        let eps = scalar::<3>(self.epsilon, &var.device(), var.dtype());
        let std = (var + eps).sqrt();
        let y = (num.reshape([b, g, c / g * l]) / std).reshape([b, c, l]);
        let y = y * view(self.gamma.val()) + view(self.beta.val());
        Ok(y.reshape(shape))
    }
}
