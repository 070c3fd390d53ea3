//! Focal loss (Lin et al. 2017) and, at `gamma = 0`, cross-entropy: the pixel-wise terms of
//! the combined losses.

use kiln_core::burn::tensor::Tensor;
use kiln_core::burn::tensor::activation::{log_sigmoid, log_softmax, sigmoid};

use crate::counts::{constant, host};
use crate::errors::Result;
use crate::hyperparams::{Activation, Reduction, SegLossValidParams};
use crate::target::PreparedTarget;

/// Mean focal loss over counted pixels (softmax: `-sum_c y_c (1 - p_c)^gamma ln p_c` per pixel;
/// sigmoid: the binary form per channel, averaged over pixels and channels). Every channel is
/// used (background included), as MONAI's cross-entropy part does. [`Reduction::None`] gives
/// one mean per image.
pub(crate) fn focal(
    params: &SegLossValidParams,
    logits: Tensor<4>,
    target: &PreparedTarget,
    gamma: f64,
) -> Result<Tensor<1>> {
    let [b, c, _, _] = logits.dims();
    let y = target.y.clone();
    let modulate = |q: Tensor<4>| -> Tensor<4> {
        // (q)^gamma with a floor so the derivative stays finite at q = 0 for gamma < 1.
        let base = q.clamp_min(1e-30);
        let g = constant(&base, gamma);
        base.powf(g)
    };
    let (elementwise, per_pixel_channels) = match params.activation() {
        Activation::Sigmoid => {
            let log_p = log_sigmoid(logits.clone());
            let log_q = log_sigmoid(logits.clone().neg());
            let one = constant(&y, 1.0);
            let neg_y = one - y.clone();
            let (pos, neg) = if gamma == 0.0 {
                (y * log_p, neg_y * log_q)
            } else {
                let p = sigmoid(logits);
                let q = constant(&p, 1.0) - p.clone();
                (y * modulate(q) * log_p, neg_y * modulate(p) * log_q)
            };
            let mut term = pos + neg;
            if let Some(m) = &target.mask {
                term = term * m.clone();
            }
            (term, c as f64)
        }
        _ => {
            let log_p = log_softmax(logits, 1);
            let term = if gamma == 0.0 {
                y * log_p
            } else {
                let q = constant(&log_p, 1.0) - log_p.clone().exp();
                y * modulate(q) * log_p
            };
            (term, 1.0)
        }
    };
    let per_image = elementwise.sum_dims(&[1, 2, 3]).reshape([b]);
    let kept = target.kept_pixels();
    let scale: Vec<f64> = match params.reduction() {
        Reduction::None => kept
            .iter()
            .map(|&n| -1.0 / (n * per_pixel_channels).max(1.0))
            .collect(),
        _ => {
            let total: f64 = kept.iter().sum::<f64>() * per_pixel_channels;
            vec![-1.0 / total.max(1.0); b]
        }
    };
    let scaled = per_image.clone() * host(&per_image, scale, [b]);
    Ok(match params.reduction() {
        Reduction::None => scaled,
        _ => scaled.sum(),
    })
}
