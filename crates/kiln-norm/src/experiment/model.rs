//! The small conv net of the seed experiment, with a [`Norm`] after each convolution.

use kiln_core::burn;

use burn::module::Module;
use burn::nn::conv::{Conv2d, Conv2dConfig};
use burn::nn::pool::{MaxPool2d, MaxPool2dConfig};
use burn::nn::{Linear, LinearConfig, PaddingConfig2d};
use burn::tensor::activation::relu;
use burn::tensor::{Device, Tensor};

use crate::errors::Result;
use crate::mismatch::Classifier;
use crate::norm::{Norm, NormKind, NormOptions, NormSites};

/// conv3x3(1->w1) - norm - relu - maxpool2 - conv3x3(w1->w2) - norm - relu - global average
/// pool - linear(w2 -> classes). Convolutions have no bias (the norm's beta replaces it).
#[derive(Module, Debug)]
pub struct ConvNet {
    conv1: Conv2d,
    norm1: Norm,
    pool: MaxPool2d,
    conv2: Conv2d,
    norm2: Norm,
    head: Linear,
}

impl ConvNet {
    /// A fresh network with `kind` normalization.
    pub fn new(
        kind: NormKind,
        options: &NormOptions,
        widths: [usize; 2],
        classes: usize,
        device: &Device,
    ) -> Result<Self> {
        let conv = |i: usize, o: usize| {
            Conv2dConfig::new([i, o], [3, 3])
                .with_padding(PaddingConfig2d::Same)
                .with_bias(false)
                .init(device)
        };
        Ok(Self {
            conv1: conv(1, widths[0]),
            norm1: Norm::build(kind, widths[0], options, device)?,
            pool: MaxPool2dConfig::new([2, 2]).init(),
            conv2: conv(widths[0], widths[1]),
            norm2: Norm::build(kind, widths[1], options, device)?,
            head: LinearConfig::new(widths[1], classes).init(device),
        })
    }
}

impl Classifier for ConvNet {
    fn logits(&self, images: Tensor<4>) -> Result<Tensor<2>> {
        let x = relu(self.norm1.forward(self.conv1.forward(images))?);
        let x = self.pool.forward(x);
        let x = relu(self.norm2.forward(self.conv2.forward(x))?);
        let [b, c, _, _] = x.dims();
        let x = x.mean_dim(3).mean_dim(2).reshape([b, c]);
        Ok(self.head.forward(x))
    }
}

impl NormSites for ConvNet {
    fn for_each_norm(&mut self, f: &mut dyn FnMut(&mut Norm)) {
        f(&mut self.norm1);
        f(&mut self.norm2);
    }
}
