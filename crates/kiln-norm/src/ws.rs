//! Weight Standardization (Qiao et al. 2019) for 2-d convolutions.

use kiln_core::burn;

use burn::module::{Module, Param};
use burn::nn::conv::Conv2dConfig;
use burn::tensor::module::conv2d;
use burn::tensor::ops::ConvOptions;
use burn::tensor::{Device, Tensor};

use crate::errors::{Result, check_dtype, check_input};
use crate::hyperparams::WsConv2dValidParams;
use crate::stats::scalar;

/// Standardizes a convolution weight `[out, in, kh, kw]` per output channel:
/// `(W - mean) / sqrt(var + epsilon)`, mean and biased variance over `(in, kh, kw)`.
pub fn standardize_weight(weight: Tensor<4>, epsilon: f64) -> Tensor<4> {
    let shape = weight.dims();
    let w = weight.reshape([shape[0], shape[1] * shape[2] * shape[3]]);
    let centred = w.clone() - w.mean_dim(1);
    let var = (centred.clone() * centred.clone()).mean_dim(1);
    let eps = scalar::<2>(epsilon, &var.device(), var.dtype());
    (centred / (var + eps).sqrt()).reshape(shape)
}

/// A 2-d convolution whose weight is standardized on every forward pass (gradients flow
/// through the standardization to the raw weight). The usual partner of GroupNorm.
/// Initialized like Burn's `Conv2d` (Kaiming uniform).
#[derive(Module, Debug)]
pub struct WsConv2d {
    weight: Param<Tensor<4>>,
    bias: Option<Param<Tensor<1>>>,
    stride: [usize; 2],
    padding: [usize; 2],
    epsilon: f64,
}

impl WsConv2d {
    /// A fresh layer in the device's default float type.
    pub fn new(params: &WsConv2dValidParams, device: &Device) -> Self {
        let conv = Conv2dConfig::new(
            [params.channels_in(), params.channels_out()],
            params.kernel(),
        )
        .with_bias(params.bias())
        .init(device);
        Self {
            weight: conv.weight,
            bias: conv.bias,
            stride: params.stride(),
            padding: params.padding(),
            epsilon: params.epsilon(),
        }
    }

    /// Replaces the raw weight (`[out, in, kh, kw]`).
    pub fn with_weight(mut self, weight: Tensor<4>) -> Self {
        self.weight = Param::from_tensor(weight);
        self
    }

    /// The raw (unstandardized) weight.
    pub fn weight(&self) -> Tensor<4> {
        self.weight.val()
    }

    /// The standardized weight the convolution uses.
    pub fn standardized_weight(&self) -> Tensor<4> {
        standardize_weight(self.weight.val(), self.epsilon)
    }

    /// Convolves `input` (`[batch, in, h, w]`) with the standardized weight.
    pub fn forward(&self, input: Tensor<4>) -> Result<Tensor<4>> {
        check_input("WsConv2d", &input.dims(), self.weight.dims()[1], 4)?;
        check_dtype("WsConv2d", input.dtype(), self.weight.val().dtype())?;
        let options = ConvOptions::new(self.stride, self.padding, [1, 1], 1);
        Ok(conv2d(
            input,
            self.standardized_weight(),
            self.bias.as_ref().map(|b| b.val()),
            options,
        ))
    }
}
