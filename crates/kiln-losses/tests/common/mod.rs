//! Helpers shared by the test files.
#![allow(dead_code)]

use kiln_core::burn::tensor::{Device, Tensor};
use kiln_core::{Autodiff, BackendKind, Precision, convert, device};
use kiln_losses::{LossKind, SegLoss, SegLossParams, SegTarget};
use rand::{RngExt, SeedableRng};

/// The flex device with autodiff (f32 default; tests build f64 tensors explicitly).
pub fn dev() -> Device {
    device(BackendKind::Flex, Autodiff::On, Precision::F32).unwrap()
}

/// Reproducible logits in [-3, 3] and labels in 0..c.
pub fn random_case(dims: [usize; 4], seed: u64) -> (Vec<f64>, Vec<i64>) {
    let [b, c, h, w] = dims;
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    let logits = (0..b * c * h * w)
        .map(|_| rng.random_range(-3.0..3.0))
        .collect();
    let labels = (0..b * h * w)
        .map(|_| rng.random_range(0..c as i64))
        .collect();
    (logits, labels)
}

/// One-hot of `labels` as row-major `[B, C, H, W]`.
pub fn one_hot(labels: &[i64], dims: [usize; 4]) -> Vec<f64> {
    let [b, c, h, w] = dims;
    let hw = h * w;
    let mut y = vec![0.0; b * c * hw];
    for (i, &l) in labels.iter().enumerate() {
        y[((i / hw) * c + l as usize) * hw + i % hw] = 1.0;
    }
    y
}

/// Loss values (f64) of `params` at `x`.
pub fn values(params: &SegLossParams, x: &[f64], dims: [usize; 4], target: &SegTarget) -> Vec<f64> {
    let t = convert::tensor_f64(x, dims, &dev()).unwrap();
    let out = SegLoss::from_params(params)
        .unwrap()
        .forward(t, target)
        .unwrap();
    convert::to_vec_f64(&out).unwrap()
}

/// Gradient (f64) of the summed loss at `x`.
pub fn gradient(
    params: &SegLossParams,
    x: &[f64],
    dims: [usize; 4],
    target: &SegTarget,
) -> Vec<f64> {
    let t: Tensor<4> = convert::tensor_f64(x, dims, &dev()).unwrap().require_grad();
    let out = SegLoss::from_params(params)
        .unwrap()
        .forward(t.clone(), target)
        .unwrap();
    let g = t.grad(&out.sum().backward()).unwrap();
    convert::to_vec_f64(&g).unwrap()
}

/// A dense f64 target on the test device.
pub fn dense(y: &[f64], dims: [usize; 4]) -> SegTarget {
    SegTarget::dense(convert::tensor_f64(y, dims, &dev()).unwrap())
}

/// The overlap losses built on the soft counts (the ones the fused path covers).
pub fn overlap_kinds() -> Vec<LossKind> {
    vec![
        LossKind::Dice,
        LossKind::Jaccard,
        LossKind::Tversky {
            alpha: 0.3,
            beta: 0.7,
        },
        LossKind::FocalTversky {
            alpha: 0.3,
            beta: 0.7,
            gamma: 0.75,
        },
        LossKind::LogDice,
    ]
}

/// A JSON array of numbers (the reference files).
pub fn f64s(v: &serde_json::Value) -> Vec<f64> {
    v.as_array()
        .expect("a JSON array")
        .iter()
        .map(|x| x.as_f64().expect("a number"))
        .collect()
}
