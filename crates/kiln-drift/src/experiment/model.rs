//! The spam classifier: a one-hidden-layer MLP (burn-nn).

use kiln_core::burn;
use kiln_core::burn::module::Module;
use kiln_core::burn::nn::{Linear, LinearConfig};
use kiln_core::burn::tensor::activation::{log_softmax, relu};
use kiln_core::burn::tensor::{Device, Int, Tensor};

/// Linear -> ReLU -> Linear to two logits (ham, spam).
#[derive(Module, Debug)]
pub(crate) struct Classifier {
    hidden: Linear,
    out: Linear,
}

impl Classifier {
    pub(crate) fn new(vocab: usize, hidden: usize, device: &Device) -> Self {
        Self {
            hidden: LinearConfig::new(vocab, hidden).init(device),
            out: LinearConfig::new(hidden, 2).init(device),
        }
    }

    /// Per-message log-probabilities `[n, 2]`.
    pub(crate) fn forward(&self, x: Tensor<2>) -> Tensor<2> {
        log_softmax(self.out.forward(relu(self.hidden.forward(x))), 1)
    }

    /// Mean cross-entropy and the per-message log-probabilities.
    pub(crate) fn loss(&self, x: Tensor<2>, y: Tensor<1, Int>) -> (Tensor<1>, Tensor<2>) {
        let lp = self.forward(x);
        let n = y.dims()[0];
        let picked = lp.clone().gather(1, y.reshape([n, 1]));
        (picked.mean().neg(), lp)
    }
}
