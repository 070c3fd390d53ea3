//! Every bad input gives its typed error, never a panic or a NaN.

mod common;

use common::{dense, dev, random_case};
use kiln_core::{KilnError, convert};
use kiln_losses::{Activation, LossError, LossKind, SegLoss, SegLossParams, SegTarget, TargetKind};

const DIMS: [usize; 4] = [2, 3, 4, 4];

fn run(params: SegLossParams, x: &[f64], dims: [usize; 4], target: &SegTarget) -> LossError {
    let t = convert::tensor_f64(x, dims, &dev()).unwrap();
    SegLoss::from_params(&params)
        .and_then(|loss| loss.forward(t, target))
        .unwrap_err()
}

#[test]
fn shape_mismatch() {
    let (x, l) = random_case(DIMS, 1);
    let wrong = SegTarget::indices(l[..16].to_vec(), [1, 4, 4]);
    let e = run(SegLossParams::default(), &x, DIMS, &wrong);
    assert!(
        matches!(e, LossError::Core(KilnError::ShapeMismatch { .. })),
        "{e}"
    );
    let y = vec![0.0; 2 * 2 * 16];
    let e = run(
        SegLossParams::default().target(TargetKind::OneHot),
        &x,
        DIMS,
        &dense(&y, [2, 2, 4, 4]),
    );
    assert!(
        matches!(e, LossError::Core(KilnError::ShapeMismatch { .. })),
        "{e}"
    );
    let e = run(
        SegLossParams::default().class_weights(vec![1.0, 1.0]),
        &x,
        DIMS,
        &SegTarget::indices(l, [2, 4, 4]),
    );
    assert!(
        matches!(e, LossError::Core(KilnError::ShapeMismatch { .. })),
        "{e}"
    );
}

#[test]
fn nan_and_inf_predictions() {
    let (mut x, l) = random_case(DIMS, 2);
    let t = SegTarget::indices(l, [2, 4, 4]);
    for (i, bad) in [(5, f64::NAN), (9, f64::INFINITY), (11, f64::NEG_INFINITY)] {
        let keep = x[i];
        x[i] = bad;
        let e = run(SegLossParams::default(), &x, DIMS, &t);
        assert!(
            matches!(e, LossError::Core(KilnError::NonFinite { index: Some(j), .. }) if j == i),
            "{e}"
        );
        x[i] = keep;
    }
}

#[test]
fn target_index_out_of_range() {
    let (x, mut l) = random_case(DIMS, 3);
    l[7] = 3;
    let e = run(
        SegLossParams::default(),
        &x,
        DIMS,
        &SegTarget::indices(l.clone(), [2, 4, 4]),
    );
    assert!(
        matches!(
            e,
            LossError::TargetOutOfRange {
                index: 7,
                value: 3,
                classes: 3,
                ..
            }
        ),
        "{e}"
    );
    l[7] = -1;
    let e = run(
        SegLossParams::default(),
        &x,
        DIMS,
        &SegTarget::indices(l.clone(), [2, 4, 4]),
    );
    assert!(
        matches!(e, LossError::TargetOutOfRange { value: -1, .. }),
        "{e}"
    );
    // ... unless it is the ignore index.
    let t = convert::tensor_f64(&x, DIMS, &dev()).unwrap();
    let loss = SegLoss::from_params(&SegLossParams::default().ignore_index(-1)).unwrap();
    let v =
        convert::scalar_f64(&loss.forward(t, &SegTarget::indices(l, [2, 4, 4])).unwrap()).unwrap();
    assert!(v.is_finite());
}

#[test]
fn negative_weights_and_smoothing() {
    let e = SegLossParams::default()
        .class_weights(vec![1.0, -1.0, 1.0])
        .check()
        .unwrap_err();
    assert!(
        matches!(e, LossError::NegativeWeight { index: 1, .. }),
        "{e}"
    );
    let e = SegLossParams::default()
        .smooth_dr(-1e-5)
        .check()
        .unwrap_err();
    assert!(
        matches!(
            e,
            LossError::NegativeSmoothing {
                name: "smooth_dr",
                ..
            }
        ),
        "{e}"
    );
    let e = SegLossParams::default()
        .smooth_nr(-1.0)
        .check()
        .unwrap_err();
    assert!(
        matches!(
            e,
            LossError::NegativeSmoothing {
                name: "smooth_nr",
                ..
            }
        ),
        "{e}"
    );
    // Through KilnError the parameter name survives.
    let k: KilnError = e.into();
    assert!(k.to_string().contains("smooth_nr"), "{k}");
}

#[test]
fn dense_target_values_and_kind_mismatch() {
    let (x, l) = random_case(DIMS, 4);
    let mut y = common::one_hot(&l, DIMS);
    y[3] = 0.5;
    let onehot = SegLossParams::default().target(TargetKind::OneHot);
    let e = run(onehot.clone(), &x, DIMS, &dense(&y, DIMS));
    assert!(
        matches!(
            e,
            LossError::TargetValue {
                kind: "one-hot",
                index: 3,
                ..
            }
        ),
        "{e}"
    );
    y[3] = 1.5;
    let e = run(onehot.target(TargetKind::Soft), &x, DIMS, &dense(&y, DIMS));
    assert!(
        matches!(
            e,
            LossError::TargetValue {
                kind: "soft",
                index: 3,
                ..
            }
        ),
        "{e}"
    );
    let e = run(SegLossParams::default(), &x, DIMS, &dense(&y, DIMS));
    assert!(matches!(e, LossError::TargetKindMismatch { .. }), "{e}");
}

#[test]
fn probabilities_outside_unit_interval() {
    let (x, l) = random_case(DIMS, 5);
    let e = run(
        SegLossParams::new(LossKind::Dice).activation(Activation::None),
        &x,
        DIMS,
        &SegTarget::indices(l, [2, 4, 4]),
    );
    assert!(matches!(e, LossError::ProbabilityOutOfRange { .. }), "{e}");
}

#[test]
fn empty_input() {
    let e = run(
        SegLossParams::default(),
        &[],
        [0, 3, 4, 4],
        &SegTarget::indices(vec![], [0, 4, 4]),
    );
    assert!(matches!(e, LossError::Core(KilnError::Empty(_))), "{e}");
}
