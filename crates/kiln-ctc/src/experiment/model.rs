//! The acoustic model of the experiment: a 1-D convolution over time, a bidirectional GRU and
//! a linear layer to per-frame class logits (burn-nn modules).

use kiln_core::burn;
use kiln_core::burn::module::{Module, Param};
use kiln_core::burn::nn::conv::{Conv1d, Conv1dConfig};
use kiln_core::burn::nn::{BiGru, BiGruConfig, Linear, LinearConfig, PaddingConfig1d};
use kiln_core::burn::tensor::activation::{log_softmax, relu};
use kiln_core::burn::tensor::{Device, Tensor};
use kiln_core::convert;

use crate::errors::Result;

/// Conv(kernel 5, same padding) -> ReLU -> BiGRU -> Linear.
#[derive(Module, Debug)]
pub struct AcousticModel {
    conv: Conv1d,
    rnn: BiGru,
    out: Linear,
}

impl AcousticModel {
    /// A model for `features` inputs, `conv` channels, `hidden` GRU units per direction and
    /// `classes` outputs, initialized by Burn's RNG on `device`.
    pub fn new(
        features: usize,
        conv: usize,
        hidden: usize,
        classes: usize,
        device: &Device,
    ) -> Self {
        Self {
            conv: Conv1dConfig::new(features, conv, 5)
                .with_padding(PaddingConfig1d::Same)
                .init(device),
            rnn: BiGruConfig::new(conv, hidden, true).init(device),
            out: LinearConfig::new(2 * hidden, classes).init(device),
        }
    }

    /// Replaces the output layer's bias by `bias` (one value per class).
    pub fn with_output_bias(mut self, bias: &[f32], device: &Device) -> Result<Self> {
        let t = convert::tensor_f32(bias, [bias.len()], device)?;
        self.out.bias = Some(Param::from_tensor(t));
        Ok(self)
    }

    /// Current output-layer bias (zeros if the layer has none).
    pub fn output_bias(&self) -> Result<Vec<f32>> {
        match &self.out.bias {
            Some(b) => Ok(convert::to_vec_f32(&b.val())?),
            None => Ok(vec![0.0; self.out.weight.val().dims()[1]]),
        }
    }

    /// Per-frame log-probabilities `[T, N, C]` of features `[T, N, D]`.
    pub fn forward(&self, x: Tensor<3>) -> Tensor<3> {
        // [T, N, D] -> [N, D, T] for the convolution, -> [N, T, H] for the GRU.
        let h = relu(self.conv.forward(x.permute([1, 2, 0])));
        let (h, _) = self.rnn.forward(h.swap_dims(1, 2), None);
        let logits = self.out.forward(h);
        log_softmax(logits.swap_dims(0, 1), 2)
    }
}
