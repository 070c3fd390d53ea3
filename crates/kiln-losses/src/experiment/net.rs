//! Part 2's segmentation network: four convolutions (3x3, dilations 1, 2, 4, then 1x1), ReLU,
//! two output channels (background, object). Receptive field 15 pixels.

use kiln_core::burn;
use kiln_core::burn::module::Module;
use kiln_core::burn::nn::PaddingConfig2d;
use kiln_core::burn::nn::conv::{Conv2d, Conv2dConfig};
use kiln_core::burn::tensor::activation::relu;
use kiln_core::burn::tensor::{Device, Tensor};

/// The network.
#[derive(Module, Debug)]
pub(crate) struct SegNet {
    c1: Conv2d,
    c2: Conv2d,
    c3: Conv2d,
    out: Conv2d,
}

fn conv(cin: usize, cout: usize, dilation: usize, device: &Device) -> Conv2d {
    Conv2dConfig::new([cin, cout], [3, 3])
        .with_dilation([dilation, dilation])
        .with_padding(PaddingConfig2d::Explicit(
            dilation, dilation, dilation, dilation,
        ))
        .init(device)
}

impl SegNet {
    pub(crate) fn new(width: usize, device: &Device) -> Self {
        Self {
            c1: conv(1, width, 1, device),
            c2: conv(width, width, 2, device),
            c3: conv(width, width, 4, device),
            out: Conv2dConfig::new([width, 2], [1, 1]).init(device),
        }
    }

    /// Logits `[B, 2, S, S]` of images `[B, 1, S, S]`.
    pub(crate) fn forward(&self, x: Tensor<4>) -> Tensor<4> {
        let h = relu(self.c1.forward(x));
        let h = relu(self.c2.forward(h));
        let h = relu(self.c3.forward(h));
        self.out.forward(h)
    }
}
