//! The shared step: soft true positives, false positives and false negatives per
//! (image, class), in the form that stays correct for soft labels.
//!
//! For hard labels `sum p y` is the soft intersection, but with soft labels it is not: a pixel
//! with `p = y = 0.5` should be a perfect match, yet `p y = 0.25`. The L1 form
//! `tp = (|p|_1 + |y|_1 - |p - y|_1) / 2` (Wang & Blaschko 2023, "Dice semimetric losses")
//! equals `sum p y` on hard labels, gives `tp = |p|_1 = |y|_1` whenever `p = y`, and keeps every
//! Dice/Jaccard/Tversky derived from it zero at a perfect soft prediction. With squared
//! denominators the same identity in L2 is exactly `tp = <p, y>`.

use kiln_core::burn::tensor::{Tensor, TensorData};

/// Soft counts per (image, class), each `[B, C]`.
#[derive(Debug, Clone)]
pub struct SoftCounts {
    /// Soft true positives.
    pub tp: Tensor<2>,
    /// Soft false positives `|p| - tp`.
    pub fp: Tensor<2>,
    /// Soft false negatives `|y| - tp`.
    pub fn_: Tensor<2>,
    /// `|p|` (`|p|_1`, or `|p|_2^2` when squared).
    pub pred: Tensor<2>,
    /// `|y|` (`|y|_1`, or `|y|_2^2` when squared).
    pub truth: Tensor<2>,
}

/// Computes the soft counts of probabilities `p` against target `y` (both `[B, C, H, W]`, same
/// dtype): `tp = (|p| + |y| - |p - y|) / 2` in L1, or in squared L2 when `squared`.
pub fn soft_counts(p: Tensor<4>, y: Tensor<4>, squared: bool) -> SoftCounts {
    let diff = p.clone() - y.clone();
    let (pred, truth, dist) = if squared {
        (
            sum_hw(p.clone() * p),
            sum_hw(y.clone() * y),
            sum_hw(diff.clone() * diff),
        )
    } else {
        (sum_hw(p), sum_hw(y), sum_hw(diff.abs()))
    };
    let tp = (pred.clone() + truth.clone() - dist).mul_scalar(0.5);
    SoftCounts {
        fp: pred.clone() - tp.clone(),
        fn_: truth.clone() - tp.clone(),
        tp,
        pred,
        truth,
    }
}

impl SoftCounts {
    /// Sums the counts over the batch: `[1, C]`.
    pub fn pool_batch(self) -> Self {
        self.map(|t| t.sum_dim(0))
    }

    /// Sums the counts over the batch and the classes: `[1, 1]`.
    pub fn pool_all(self) -> Self {
        self.map(|t| t.sum_dim(0).sum_dim(1))
    }

    fn map(self, f: impl Fn(Tensor<2>) -> Tensor<2>) -> Self {
        SoftCounts {
            tp: f(self.tp),
            fp: f(self.fp),
            fn_: f(self.fn_),
            pred: f(self.pred),
            truth: f(self.truth),
        }
    }
}

/// Sum over the spatial axes: `[B, C, H, W] -> [B, C]`.
pub(crate) fn sum_hw(x: Tensor<4>) -> Tensor<2> {
    let [b, c, _, _] = x.dims();
    x.sum_dims(&[2, 3]).reshape([b, c])
}

/// A constant broadcastable against `like` (shape `[1; D]`), in `like`'s dtype and device.
///
/// Burn's scalar ops round the scalar to the device's default float (f32) even on f64 tensors;
/// a one-element tensor keeps f64 constants exact.
pub(crate) fn constant<const D: usize>(like: &Tensor<D>, value: f64) -> Tensor<D> {
    Tensor::from_data(
        TensorData::new(vec![value], [1; D]),
        (&like.device(), like.dtype()),
    )
}

/// A host array as a tensor in `like`'s dtype and device.
pub(crate) fn host<const D: usize, const E: usize>(
    like: &Tensor<E>,
    values: Vec<f64>,
    shape: [usize; D],
) -> Tensor<D> {
    Tensor::from_data(
        TensorData::new(values, shape),
        (&like.device(), like.dtype()),
    )
}
