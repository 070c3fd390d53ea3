//! Lovász-softmax and Lovász-hinge (Berman, Rannen Triki & Blaschko 2018): the tight convex
//! surrogate of the Jaccard loss, per class.
//!
//! The Lovász extension is piecewise linear: sorting the errors fixes a linear piece, whose
//! coefficients (the Jaccard loss's discrete gradient along the sorted ground truth) depend
//! only on the order. They are computed on the host and scattered back to pixel order, so the
//! loss is `sum(errors * weights)` with constant weights, and autodiff gives exactly the
//! gradient of the reference implementation (which differentiates through the sort).

use kiln_core::burn::tensor::Tensor;
use kiln_core::burn::tensor::activation::relu;
use kiln_core::convert;

use crate::counts::{constant, host, sum_hw};
use crate::errors::Result;
use crate::hyperparams::Reduction;
use crate::loss::{SegLoss, Terms};
use crate::target::PreparedTarget;

/// Lovász-softmax terms `[U, K]` from probabilities and the (kept, masked) target.
pub(crate) fn softmax_terms(
    loss: &SegLoss,
    probs: Tensor<4>,
    y: Tensor<4>,
    target: &PreparedTarget,
    sums: &(Vec<f64>, usize),
) -> Result<Terms> {
    let errors = (y - probs).abs();
    let order = convert::to_vec_f64(&errors)?;
    terms(loss, errors, &order, target, sums)
}

/// Lovász-hinge on raw logits, one binary problem per kept channel.
pub(crate) fn hinge(
    loss: &SegLoss,
    logits: Tensor<4>,
    target: &PreparedTarget,
) -> Result<Tensor<1>> {
    let x = loss.keep_classes(logits)?;
    let y = loss.keep_classes(target.y.clone())?;
    let signs = y.mul_scalar(2.0) - constant(&x, 1.0);
    let raw = constant(&x, 1.0) - x * signs;
    let order = convert::to_vec_f64(&raw)?;
    let sums = loss.kept_sums(target)?;
    let terms = terms(loss, relu(raw), &order, target, &sums)?;
    loss.reduce(terms)
}

/// Sorts each (unit, class) by `order` (decreasing), builds the Lovász weights, and sums
/// `errors * weights` per term.
fn terms(
    loss: &SegLoss,
    errors: Tensor<4>,
    order: &[f64],
    target: &PreparedTarget,
    sums: &(Vec<f64>, usize),
) -> Result<Terms> {
    let [b, k, h, w] = errors.dims();
    let hw = h * w;
    let c_all = target.dims[1];
    let skip = c_all - k;
    let pooled = loss.params().reduction() == Reduction::Batch;
    let units: Vec<Vec<usize>> = if pooled {
        vec![(0..b).collect()]
    } else {
        (0..b).map(|i| vec![i]).collect()
    };
    let mut weights = vec![0.0; b * k * hw];
    let mut idx: Vec<(usize, usize)> = Vec::with_capacity(b * hw);
    let mut gt = Vec::with_capacity(b * hw);
    for images in &units {
        for c in 0..k {
            idx.clear();
            for &i in images {
                for px in 0..hw {
                    if target.keep[i * hw + px] {
                        idx.push((i, px));
                    }
                }
            }
            let flat = |(i, px): (usize, usize)| (i * k + c) * hw + px;
            idx.sort_by(|&a, &b| order[flat(b)].total_cmp(&order[flat(a)]));
            gt.clear();
            gt.extend(
                idx.iter()
                    .map(|&(i, px)| target.y_host[(i * c_all + c + skip) * hw + px]),
            );
            for (&pos, g) in idx.iter().zip(lovasz_grad(&gt)) {
                weights[flat(pos)] = g;
            }
        }
    }
    let weights = host(&errors, weights, [b, k, h, w]);
    let per_image = sum_hw(errors * weights);
    let values = if pooled {
        per_image.sum_dim(0)
    } else {
        per_image
    };
    let empty = loss.pool_sums(sums).iter().map(|&s| s == 0.0).collect();
    Ok(Terms { values, empty })
}

/// Gradient of the Jaccard loss along ground truth sorted by decreasing error (Berman et al.,
/// Alg. 1): `J_i - J_{i-1}` with `J_i = 1 - |gt \ first i| / |gt ∪ first i|`.
pub(crate) fn lovasz_grad(gt_sorted: &[f64]) -> Vec<f64> {
    let total: f64 = gt_sorted.iter().sum();
    let mut cum_pos = 0.0;
    let mut cum_neg = 0.0;
    let mut prev = 0.0;
    gt_sorted
        .iter()
        .map(|&g| {
            cum_pos += g;
            cum_neg += 1.0 - g;
            let jaccard = 1.0 - (total - cum_pos) / (total + cum_neg);
            let step = jaccard - prev;
            prev = jaccard;
            step
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::lovasz_grad;

    #[test]
    fn grad_sums_to_final_jaccard_loss() {
        // The weights telescope: their sum is the Jaccard loss with every pixel wrong, 1.
        let gt = [1.0, 0.0, 1.0, 0.0, 0.0];
        let g = lovasz_grad(&gt);
        let total: f64 = g.iter().sum();
        assert!((total - 1.0).abs() < 1e-15);
        // First pixel (foreground) wrong: intersection 2 -> 1 over a union of 2.
        assert_eq!(g[0], 0.5);
        // Second (background) wrong too: intersection 1 of union 3, loss 2/3.
        assert!((g[1] - (2.0 / 3.0 - 0.5)).abs() < 1e-15);
    }
}
