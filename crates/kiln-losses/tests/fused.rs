//! The fused host path (flex, f32/f64, the overlap losses) against the Burn tensor-op path
//! (`SegLoss::forward_composite`), which the MONAI/smp parity tests also pin: values and
//! gradients on random inputs, with an empty class, soft labels, ignored pixels, every
//! activation, reduction and empty-class policy; plus finite differences on the fused path
//! and the error it gives on a non-finite logit.

mod common;

use common::{dev, one_hot, random_case};
use kiln_core::burn::tensor::Tensor;
use kiln_core::{
    Autodiff, BackendKind, GradCheckConfig, KilnError, Precision, convert, device, grad_check,
};
use kiln_losses::{
    Activation, EmptyClass, GdlWeight, LossError, LossKind, Reduction, SegLoss, SegLossParams,
    SegTarget, TargetKind,
};
use rand::{RngExt, SeedableRng};

/// `[2, 3, 9, 8]`: 72 pixels per image, so the kernels run one 64-pixel lane chunk and an
/// 8-pixel tail.
const DIMS: [usize; 4] = [2, 3, 9, 8];

/// The losses the fused path computes: the overlap losses, Generalized Dice (every weight) and
/// Dice+CE (softmax; with sigmoid it takes the tensor path on both sides).
fn kinds() -> Vec<LossKind> {
    let mut kinds = common::overlap_kinds();
    kinds.extend(
        [GdlWeight::Square, GdlWeight::Simple, GdlWeight::Uniform]
            .map(|weight| LossKind::GeneralizedDice { weight }),
    );
    kinds.extend(
        [(1.0, 1.0), (0.3, 1.7)].map(|(lambda_dice, lambda_ce)| LossKind::DiceCe {
            lambda_dice,
            lambda_ce,
        }),
    );
    kinds
}

/// Option sets for a class-map target (an empty class in image 0).
fn index_variants(kind: LossKind) -> Vec<SegLossParams> {
    let p = || SegLossParams::new(kind);
    vec![
        p(),
        p().activation(Activation::Sigmoid),
        p().squared(true),
        p().include_background(false),
        p().class_weights(vec![0.5, 1.0, 2.0]),
        p().reduction(Reduction::Batch),
        p().reduction(Reduction::Global),
        p().empty(EmptyClass::CountAsOne)
            .smooth_nr(0.0)
            .smooth_dr(0.0),
        p().empty(EmptyClass::Skip),
        p().ignore_index(1),
        p().ignore_index(-1).squared(true).include_background(false),
        p().activation(Activation::Sigmoid).ignore_index(2),
    ]
    .into_iter()
    // Log-Dice refuses smooth_nr = 0.
    .filter(|p| p.check().is_ok())
    .collect()
}

/// Labels with class 2 absent from image 0 and, when `ignore` is set, some pixels carrying it.
fn labels(dims: [usize; 4], seed: u64, ignore: Option<i64>) -> Vec<i64> {
    let (_, mut labels) = random_case(dims, seed);
    let hw = dims[2] * dims[3];
    for l in labels[..hw].iter_mut().filter(|l| **l == 2) {
        *l = 0;
    }
    if let Some(i) = ignore {
        for l in labels.iter_mut().step_by(5) {
            *l = i;
        }
    }
    labels
}

/// Loss values and gradient of both paths on `x` (dtype f64 or f32).
fn both_paths(
    params: &SegLossParams,
    x: &[f64],
    dims: [usize; 4],
    target: &SegTarget,
    f64_logits: bool,
) -> [(Vec<f64>, Vec<f64>); 2] {
    let loss = SegLoss::from_params(params).unwrap();
    let make = || -> Tensor<4> {
        if f64_logits {
            convert::tensor_f64(x, dims, &dev()).unwrap()
        } else {
            let x32: Vec<f32> = x.iter().map(|&v| v as f32).collect();
            convert::tensor_f32(&x32, dims, &dev()).unwrap()
        }
        .require_grad()
    };
    let run = |composite: bool| {
        let t = make();
        let prepared = loss.prepare(target, &t).unwrap();
        let value = if composite {
            loss.forward_composite(t.clone(), &prepared).unwrap()
        } else {
            loss.forward_prepared(t.clone(), &prepared).unwrap()
        };
        let values = convert::to_vec_f64(&value).unwrap();
        let g = t.grad(&value.sum().backward()).unwrap();
        (values, convert::to_vec_f64(&g).unwrap())
    };
    [run(false), run(true)]
}

/// Largest `|a - b|` over `max |b|` (a gradient's scale, floored at 1e-3 so that a gradient
/// that is ~0 everywhere, as at a perfect fit, is judged on absolute error), or over `|b|`
/// for a scalar.
fn rel(a: &[f64], b: &[f64]) -> f64 {
    assert_eq!(a.len(), b.len());
    let scale = b.iter().fold(0.0f64, |m, v| m.max(v.abs())).max(1e-3);
    a.iter()
        .zip(b)
        .map(|(x, y)| (x - y).abs() / scale)
        .fold(0.0, f64::max)
}

/// The fused path in f64 equals the tensor path in f64 to rounding; the fused path in f32 is
/// checked against the f64 tensor path too (the f32 tensor path itself carries more rounding
/// error where counts cancel, e.g. `tp = (|p| + |y| - |p - y|) / 2` of an empty class, which
/// the fused sums keep exactly 0).
fn assert_agree(params: &SegLossParams, x: &[f64], dims: [usize; 4], target: &SegTarget) {
    let [(v64, g64), (v_ref, g_ref)] = both_paths(params, x, dims, target, true);
    let [(v32, g32), _] = both_paths(params, x, dims, target, false);
    for (v, g, tol_value, tol_grad, name) in [
        // Log-Dice of an empty class under 1e-5 smoothing amplifies the rounding of `tp` by
        // 1/score ~ 1e6: 1e-8 leaves room for that, far inside the 1e-6 anchor bar.
        (&v64, &g64, 1e-12, 1e-8, "f64"),
        (&v32, &g32, 1e-5, 1e-4, "f32"),
    ] {
        let (ev, eg) = (rel(v, &v_ref), rel(g, &g_ref));
        assert!(
            ev <= tol_value && eg <= tol_grad,
            "{params:?} ({name}): value {v:?} vs {v_ref:?} ({ev:e}), gradient {eg:e}"
        );
    }
}

#[test]
fn fused_equals_tensor_ops_on_class_maps() {
    let (x, _) = random_case(DIMS, 7);
    for kind in kinds() {
        for (i, p) in index_variants(kind).into_iter().enumerate() {
            let target = SegTarget::indices(
                labels(DIMS, 7 + i as u64, p.check().unwrap().ignore_index()),
                [DIMS[0], DIMS[2], DIMS[3]],
            );
            assert_agree(&p, &x, DIMS, &target);
        }
    }
}

#[test]
fn fused_equals_tensor_ops_on_soft_and_one_hot_labels() {
    let (x, l) = random_case(DIMS, 11);
    let mut rng = rand::rngs::StdRng::seed_from_u64(11);
    let soft: Vec<f64> = one_hot(&l, DIMS)
        .iter()
        .map(|&v| {
            if rng.random_bool(0.5) {
                0.8 * v + 0.1
            } else {
                v
            }
        })
        .collect();
    let mut hot = one_hot(&l, DIMS);
    // Channel 2 of image 1 empty.
    let hw = DIMS[2] * DIMS[3];
    hot[(DIMS[1] + 2) * hw..(DIMS[1] + 3) * hw].fill(0.0);
    for kind in kinds() {
        for (y, target_kind) in [(&soft, TargetKind::Soft), (&hot, TargetKind::OneHot)] {
            let target = common::dense(y, DIMS);
            for act in [Activation::Softmax, Activation::Sigmoid] {
                for squared in [false, true] {
                    let p = SegLossParams::new(kind)
                        .target(target_kind)
                        .activation(act)
                        .squared(squared);
                    assert_agree(&p, &x, DIMS, &target);
                }
            }
        }
    }
}

#[test]
fn fused_equals_tensor_ops_on_probabilities_and_a_perfect_fit() {
    let (_, l) = random_case(DIMS, 3);
    let y = one_hot(&l, DIMS);
    let mut rng = rand::rngs::StdRng::seed_from_u64(3);
    let probs: Vec<f64> = (0..y.len()).map(|_| rng.random_range(0.0..1.0)).collect();
    let target = SegTarget::indices(l.clone(), [DIMS[0], DIMS[2], DIMS[3]]);
    // Dice+CE needs logits (its check refuses `Activation::None`).
    for kind in kinds()
        .into_iter()
        .filter(|k| !matches!(k, LossKind::DiceCe { .. }))
    {
        let p = SegLossParams::new(kind).activation(Activation::None);
        assert_agree(&p, &probs, DIMS, &target);
        // p = y exactly: |p - y| sits at its kink; both paths take the derivative 0 there.
        assert_agree(&p, &y, DIMS, &target);
    }
}

#[test]
fn fused_sums_stay_exact_over_many_blocks() {
    // 6400 pixels per image: more than one f64 flush of the lane sums.
    let dims = [1, 2, 80, 80];
    let (x, l) = random_case(dims, 5);
    let target = SegTarget::indices(l, [1, 80, 80]);
    assert_agree(&SegLossParams::default(), &x, dims, &target);
}

#[test]
fn fused_gradient_matches_finite_differences() {
    let dims = [2, 3, 3, 3];
    let (x, l) = random_case(dims, 21);
    let soft: Vec<f64> = one_hot(&l, dims).iter().map(|v| 0.7 * v + 0.1).collect();
    let cases = [
        (
            SegLossParams::new(LossKind::Tversky {
                alpha: 0.3,
                beta: 0.7,
            })
            .target(TargetKind::Soft),
            common::dense(&soft, dims),
        ),
        (
            SegLossParams::new(LossKind::Jaccard)
                .activation(Activation::Sigmoid)
                .target(TargetKind::Soft)
                .squared(true)
                .reduction(Reduction::Batch),
            common::dense(&soft, dims),
        ),
        (
            SegLossParams::default()
                .ignore_index(255)
                .include_background(false),
            SegTarget::indices(
                l.iter()
                    .enumerate()
                    .map(|(i, &v)| if i % 4 == 0 { 255 } else { v })
                    .collect(),
                [2, 3, 3],
            ),
        ),
    ];
    for (p, target) in cases {
        let loss = SegLoss::from_params(&p).unwrap();
        let report = grad_check(
            |t| loss.forward(t, &target).unwrap(),
            &x,
            dims,
            &dev(),
            &GradCheckConfig::default(),
        )
        .unwrap();
        assert!(report.passed, "{p:?}: {report}");
    }
}

/// The fused loss inside a larger graph: logits computed from a leaf (`x * 3`, and a strided
/// view of it, which takes the surrogate instead of the graph node), the loss scaled and added
/// to another term. Gradients with respect to the leaf equal the tensor path's.
#[test]
fn fused_loss_composes_with_the_rest_of_the_graph() {
    let (x, l) = random_case(DIMS, 21);
    let [b, c, h, w] = DIMS;
    let target = SegTarget::indices(l, [b, h, w]);
    let loss = SegLoss::from_params(&SegLossParams::default()).unwrap();
    for f64_logits in [true, false] {
        for strided in [false, true] {
            let run = |composite: bool| {
                let leaf = if f64_logits {
                    convert::tensor_f64(&x, DIMS, &dev()).unwrap()
                } else {
                    let x32: Vec<f32> = x.iter().map(|&v| v as f32).collect();
                    convert::tensor_f32(&x32, DIMS, &dev()).unwrap()
                }
                .require_grad();
                // The strided case stores [B, C, W, H] and reads it transposed.
                let logits = if strided {
                    leaf.clone().swap_dims(2, 3).mul_scalar(3.0).swap_dims(2, 3)
                } else {
                    leaf.clone().mul_scalar(3.0)
                };
                let value = if composite {
                    let prepared = loss.prepare(&target, &logits).unwrap();
                    loss.forward_composite(logits, &prepared).unwrap()
                } else {
                    loss.forward(logits, &target).unwrap()
                };
                let total = value.clone().mul_scalar(2.5) + leaf.clone().powf_scalar(2.0).sum();
                let g = leaf.grad(&total.backward()).unwrap();
                (
                    convert::to_vec_f64(&value).unwrap(),
                    convert::to_vec_f64(&g).unwrap(),
                )
            };
            let ((v, g), (v_ref, g_ref)) = (run(false), run(true));
            assert_eq!(g.len(), b * c * h * w);
            let tol = if f64_logits { 1e-10 } else { 1e-4 };
            assert!(
                rel(&v, &v_ref) <= tol && rel(&g, &g_ref) <= tol,
                "f64 {f64_logits}, strided {strided}: value {v:?} vs {v_ref:?}, gradient {:e}",
                rel(&g, &g_ref)
            );
        }
    }
}

#[test]
fn untracked_logits_give_the_value_only() {
    let (x, l) = random_case(DIMS, 9);
    let target = SegTarget::indices(l, [DIMS[0], DIMS[2], DIMS[3]]);
    let loss = SegLoss::from_params(&SegLossParams::default()).unwrap();
    let plain = device(BackendKind::Flex, Autodiff::Off, Precision::F32).unwrap();
    let a = loss
        .forward(convert::tensor_f64(&x, DIMS, &plain).unwrap(), &target)
        .unwrap();
    let tracked = convert::tensor_f64(&x, DIMS, &dev())
        .unwrap()
        .require_grad();
    let b = loss.forward(tracked, &target).unwrap();
    let (a, b) = (
        convert::scalar_f64(&a).unwrap(),
        convert::scalar_f64(&b).unwrap(),
    );
    assert!(a > 0.0 && (a - b).abs() <= 1e-15, "{a} vs {b}");
}

#[test]
fn fused_path_reports_the_first_non_finite_logit() {
    let (mut x, l) = random_case(DIMS, 4);
    let hw = DIMS[2] * DIMS[3];
    // Image 1: a -inf in channel 1 at pixel 70 (the 8-pixel tail) and a NaN in channel 2 at
    // pixel 2 (the first 64-pixel chunk): the kernels meet the NaN first, but the -inf comes
    // first in flat [B, C, H, W] order.
    let first = (DIMS[1] + 1) * hw + 70;
    x[first] = f64::NEG_INFINITY;
    x[(DIMS[1] + 2) * hw + 2] = f64::NAN;
    let target = SegTarget::indices(l, [DIMS[0], DIMS[2], DIMS[3]]);
    for act in [Activation::Softmax, Activation::Sigmoid] {
        for logits_f64 in [true, false] {
            let loss = SegLoss::from_params(&SegLossParams::default().activation(act)).unwrap();
            let t = if logits_f64 {
                convert::tensor_f64(&x, DIMS, &dev()).unwrap()
            } else {
                let x32: Vec<f32> = x.iter().map(|&v| v as f32).collect();
                convert::tensor_f32(&x32, DIMS, &dev()).unwrap()
            };
            let err = loss.forward(t.require_grad(), &target).unwrap_err();
            assert!(
                matches!(err, LossError::Core(KilnError::NonFinite { index: Some(i), .. }) if i == first),
                "{err:?}"
            );
        }
    }
}
