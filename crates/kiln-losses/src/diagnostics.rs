//! How hard each class is pushed: the per-class norm of the loss gradient with respect to the
//! logits (no anchor offers it). A class whose norm is orders of magnitude below the others is
//! barely trained by this loss at this point — typical of small structures under Dice with
//! batch pooling, or of empty classes under count-as-one.

use kiln_core::burn::tensor::Tensor;
use kiln_core::convert;

use crate::errors::Result;
use crate::loss::SegLoss;
use crate::target::SegTarget;

/// `||d loss / d logits[:, c, :, :]||_2` for every channel `c` (the loss summed first when it
/// is unreduced). `logits` may live on a device with or without autodiff: they are copied to
/// the autodiff version of their device.
pub fn class_gradient_norms(
    loss: &SegLoss,
    logits: &Tensor<4>,
    target: &SegTarget,
) -> Result<Vec<f64>> {
    let [b, c, h, w] = logits.dims();
    let device = logits.device().autodiff();
    let x = Tensor::<4>::from_data(logits.to_data(), (&device, logits.dtype())).require_grad();
    let out = loss.forward(x.clone(), target)?.sum();
    let grads = out.backward();
    let g = match x.grad(&grads) {
        Some(g) => convert::to_vec_f64(&g)?,
        None => vec![0.0; b * c * h * w],
    };
    let hw = h * w;
    Ok((0..c)
        .map(|ch| {
            (0..b)
                .flat_map(|img| g[(img * c + ch) * hw..(img * c + ch + 1) * hw].iter())
                .map(|v| v * v)
                .sum::<f64>()
                .sqrt()
        })
        .collect())
}
