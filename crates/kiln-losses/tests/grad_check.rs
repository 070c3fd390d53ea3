//! Autodiff gradients of every loss against central finite differences (kiln_core::grad_check).

mod common;

use common::{dev, random_case};
use kiln_core::{GradCheckConfig, grad_check};
use kiln_losses::{
    Activation, EmptyClass, GdlWeight, LossKind, Reduction, SegLoss, SegLossParams, SegTarget,
};

fn kinds() -> Vec<LossKind> {
    let mut kinds = common::overlap_kinds();
    kinds.extend([
        LossKind::GeneralizedDice {
            weight: GdlWeight::Square,
        },
        LossKind::LovaszSoftmax,
        LossKind::LovaszHinge,
        LossKind::Focal { gamma: 2.0 },
        LossKind::DiceCe {
            lambda_dice: 1.0,
            lambda_ce: 0.5,
        },
        LossKind::DiceFocal {
            lambda_dice: 1.0,
            lambda_focal: 2.0,
            gamma: 2.0,
        },
    ]);
    kinds
}

fn check(params: &SegLossParams, dims: [usize; 4], seed: u64, drop_class: Option<i64>) {
    let (x, mut labels) = random_case(dims, seed);
    if let Some(c) = drop_class {
        // Make class `c` empty in image 0 (an empty term).
        let hw = dims[2] * dims[3];
        for l in labels[..hw].iter_mut().filter(|l| **l == c) {
            *l = (c + 1) % dims[1] as i64;
        }
    }
    let target = SegTarget::indices(labels, [dims[0], dims[2], dims[3]]);
    let loss = SegLoss::from_params(params).unwrap();
    let report = grad_check(
        |t| loss.forward(t, &target).unwrap(),
        &x,
        dims,
        &dev(),
        // Step 1e-5: log-Dice of an empty class is ~14, and central differences at the default
        // 1e-6 carry eps * 14 / 1e-6 ~ 3e-9 of rounding noise, 3e-6 against the 1e-4 floor.
        &GradCheckConfig {
            step: 1e-5,
            ..GradCheckConfig::default()
        },
    )
    .unwrap();
    assert!(report.passed, "{params:?}: {report}");
}

#[test]
fn every_loss_softmax_per_image() {
    for kind in kinds() {
        check(&SegLossParams::new(kind), [2, 3, 3, 3], 1, Some(2));
    }
}

#[test]
fn every_loss_sigmoid_batch_pooled() {
    for kind in kinds() {
        let p = SegLossParams::new(kind)
            .activation(Activation::Sigmoid)
            .reduction(Reduction::Batch);
        check(&p, [2, 2, 3, 3], 2, None);
    }
}

#[test]
fn options_squared_no_background_weights_policies() {
    let variants = [
        SegLossParams::default().squared(true),
        SegLossParams::default().include_background(false),
        SegLossParams::default().class_weights(vec![0.5, 1.0, 2.0]),
        SegLossParams::default().reduction(Reduction::Global),
        SegLossParams::default()
            .empty(EmptyClass::CountAsOne)
            .smooth_nr(0.0)
            .smooth_dr(0.0),
        SegLossParams::default().empty(EmptyClass::Skip),
        SegLossParams::new(LossKind::Jaccard).ignore_index(1),
        SegLossParams::new(LossKind::LovaszSoftmax).empty(EmptyClass::Skip),
    ];
    for (i, p) in variants.iter().enumerate() {
        check(p, [2, 3, 3, 3], 10 + i as u64, Some(2));
    }
}
