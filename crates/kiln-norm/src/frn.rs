//! Filter Response Normalization with a Thresholded Linear Unit (Singh & Krishnan 2020).

use kiln_core::burn;

use burn::module::{Module, Param};
use burn::tensor::{DType, Device, Tensor};

use crate::errors::{Result, check_dtype, check_input};
use crate::hyperparams::FrnValidParams;
use crate::stats::{filled, scalar};

/// FRN + TLU: per sample and channel, `nu2 = mean(x^2)` over the spatial axes,
/// `y = gamma x / sqrt(nu2 + epsilon) + beta`, `z = max(y, tau)`. No mean subtraction and no
/// batch dependence: the learned threshold `tau` makes up for the missing centring.
/// Input `[batch, channels, spatial...]`, rank >= 3.
#[derive(Module, Debug)]
pub struct Frn {
    gamma: Param<Tensor<1>>,
    beta: Param<Tensor<1>>,
    tau: Param<Tensor<1>>,
    epsilon: f64,
}

impl Frn {
    /// A fresh layer (gamma 1, beta 0, tau 0) in the device's default float type.
    pub fn new(params: &FrnValidParams, device: &Device) -> Self {
        let dtype = Tensor::<1>::zeros([1], device).dtype();
        Self::with_dtype(params, device, dtype)
    }

    /// A fresh layer whose tensors have `dtype`.
    pub fn with_dtype(params: &FrnValidParams, device: &Device, dtype: DType) -> Self {
        let c = params.channels();
        Self {
            gamma: Param::from_tensor(filled(1.0, c, device, dtype)),
            beta: Param::from_tensor(filled(0.0, c, device, dtype)),
            tau: Param::from_tensor(filled(0.0, c, device, dtype)),
            epsilon: params.epsilon(),
        }
    }

    /// Replaces gamma, beta and tau (shape `[channels]` each).
    pub fn with_params(mut self, gamma: Tensor<1>, beta: Tensor<1>, tau: Tensor<1>) -> Self {
        self.gamma = Param::from_tensor(gamma);
        self.beta = Param::from_tensor(beta);
        self.tau = Param::from_tensor(tau);
        self
    }

    /// Number of channels.
    pub fn channels(&self) -> usize {
        self.gamma.dims()[0]
    }

    /// Applies FRN then TLU.
    pub fn forward<const D: usize>(&self, input: Tensor<D>) -> Result<Tensor<D>> {
        let shape = input.dims();
        let c = self.channels();
        check_input("Frn", &shape, c, 3)?;
        check_dtype("Frn", input.dtype(), self.gamma.val().dtype())?;
        let (b, l) = (shape[0], shape[2..].iter().product::<usize>());
        let x = input.reshape([b, c, l]);
        let eps = scalar::<3>(self.epsilon, &x.device(), x.dtype());
        let nu2 = (x.clone() * x.clone()).mean_dim(2);
        let y = x * (nu2 + eps).sqrt().recip();
        let view = |t: Tensor<1>| t.reshape([1, c, 1]);
        let y = y * view(self.gamma.val()) + view(self.beta.val());
        let z = y.max_pair(view(self.tau.val()).expand([b, c, l]));
        Ok(z.reshape(shape))
    }
}
