//! Identities the issue names, as proptest properties, and tiny brute-force cases.

mod common;

use common::{dense, gradient, one_hot, values};
use kiln_losses::{
    Activation, EmptyClass, GdlWeight, LossKind, Reduction, SegLossParams, SegTarget, TargetKind,
};
use proptest::prelude::*;

const DIMS: [usize; 4] = [2, 3, 3, 3];

fn case() -> impl Strategy<Value = (Vec<f64>, Vec<i64>)> {
    (
        prop::collection::vec(-4.0f64..4.0, 54),
        prop::collection::vec(0i64..3, 18),
    )
}

fn labels(l: &[i64]) -> SegTarget {
    SegTarget::indices(l.to_vec(), [2, 3, 3])
}

/// Unsmoothed per-(image, class) scores `1 - loss`; empty terms count as 1.
fn scores(kind: LossKind, x: &[f64], l: &[i64]) -> Vec<f64> {
    let p = SegLossParams::new(kind)
        .smooth_nr(0.0)
        .smooth_dr(0.0)
        .empty(EmptyClass::CountAsOne)
        .reduction(Reduction::None);
    values(&p, x, DIMS, &labels(l))
        .iter()
        .map(|v| 1.0 - v)
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]

    #[test]
    fn dice_and_jaccard_terms_obey_their_identities((x, l) in case()) {
        let d = scores(LossKind::Dice, &x, &l);
        let j = scores(LossKind::Jaccard, &x, &l);
        let bound = 3.0 - 2.0 * 2f64.sqrt();
        for (d, j) in d.iter().zip(&j) {
            prop_assert!((d - 2.0 * j / (1.0 + j)).abs() < 1e-12, "D = {d}, J = {j}");
            prop_assert!(-1e-12 <= *j && j <= &(d + 1e-12) && *d <= 1.0 + 1e-12);
            prop_assert!(d - j <= bound + 1e-12, "gap {} > 3 - 2 sqrt 2", d - j);
        }
    }

    #[test]
    fn every_overlap_loss_is_zero_at_a_perfect_soft_prediction(
        y in prop::collection::vec(0.0f64..=1.0, 54),
    ) {
        // Soft labels, predictions equal to them (activation none): the soft counts make every
        // overlap loss exactly 0 (sum p y would not: 0.5 * 0.5 = 0.25 < 0.5).
        for kind in [
            LossKind::Dice,
            LossKind::Jaccard,
            LossKind::Tversky { alpha: 0.3, beta: 0.7 },
            LossKind::FocalTversky { alpha: 0.3, beta: 0.7, gamma: 0.75 },
            LossKind::LogDice,
            LossKind::GeneralizedDice { weight: GdlWeight::Square },
            LossKind::LovaszSoftmax,
        ] {
            for squared in [false, true] {
                if squared && kind == LossKind::LovaszSoftmax {
                    continue;
                }
                let p = SegLossParams::new(kind)
                    .activation(Activation::None)
                    .target(TargetKind::Soft)
                    .squared(squared);
                let v = values(&p, &y, DIMS, &dense(&y, DIMS))[0];
                prop_assert!(v.abs() < 1e-12, "{kind:?} squared={squared}: {v}");
            }
        }
    }

    #[test]
    fn gradients_stay_finite_on_empty_classes_and_background_only_images(
        (x, _) in case(),
    ) {
        // Every pixel background: classes 1 and 2 are empty in both images.
        let l = vec![0i64; 18];
        for kind in [
            LossKind::Dice,
            LossKind::Jaccard,
            LossKind::Tversky { alpha: 0.3, beta: 0.7 },
            LossKind::FocalTversky { alpha: 0.3, beta: 0.7, gamma: 0.75 },
            LossKind::LogDice,
            LossKind::GeneralizedDice { weight: GdlWeight::Square },
            LossKind::LovaszSoftmax,
            LossKind::LovaszHinge,
            LossKind::Focal { gamma: 2.0 },
            LossKind::DiceCe { lambda_dice: 1.0, lambda_ce: 1.0 },
        ] {
            for empty in [EmptyClass::Smoothed, EmptyClass::CountAsOne, EmptyClass::Skip] {
                let p = SegLossParams::new(kind).empty(empty);
                let g = gradient(&p, &x, DIMS, &labels(&l));
                prop_assert!(g.iter().all(|v| v.is_finite()), "{kind:?} {empty:?}");
            }
        }
    }
}

#[test]
fn hand_computed_soft_dice() {
    // One image, one channel, two pixels: p = (0.5, 1), y = (1, 0).
    // tp = (1.5 + 1 - (0.5 + 1)) / 2 = 0.5; Dice = 2 * 0.5 / 2.5 = 0.4; Jaccard = 0.5 / 2 = 0.25.
    let p = [0.5, 1.0];
    let y = [1.0, 0.0];
    let dims = [1, 1, 1, 2];
    let base = SegLossParams::default()
        .activation(Activation::None)
        .target(TargetKind::OneHot)
        .smooth_nr(0.0)
        .smooth_dr(0.0)
        .empty(EmptyClass::CountAsOne);
    let dice = values(&base, &p, dims, &dense(&y, dims))[0];
    assert!((dice - 0.6).abs() < 1e-15, "{dice}");
    let jac = values(
        &base.clone().kind(LossKind::Jaccard),
        &p,
        dims,
        &dense(&y, dims),
    )[0];
    assert!((jac - 0.75).abs() < 1e-15, "{jac}");
    let tv = LossKind::Tversky {
        alpha: 0.2,
        beta: 0.8,
    };
    // fp = 1, fn = 0.5: TI = 0.5 / (0.5 + 0.2 + 0.4) = 0.4545...
    let t = values(&base.clone().kind(tv), &p, dims, &dense(&y, dims))[0];
    assert!((t - (1.0 - 0.5 / 1.1)).abs() < 1e-15, "{t}");
    // Soft labels: p = y = 0.5 is a perfect match (sum p y would give 0.5 / 1 = Dice 0.5).
    let soft = base.clone().target(TargetKind::Soft);
    let half = [0.5, 0.5];
    let v = values(&soft, &half, dims, &dense(&half, dims))[0];
    assert!(v.abs() < 1e-15, "{v}");
}

#[test]
fn empty_class_policies_differ_as_documented() {
    // Two classes, both pixels class 0: class 1 is empty. Confident, right prediction.
    let dims = [1, 2, 1, 2];
    let x = [4.0, 4.0, -4.0, -4.0];
    let t = SegTarget::indices(vec![0, 0], [1, 1, 2]);
    let run = |p: SegLossParams| values(&p.reduction(Reduction::None), &x, dims, &t);
    let smoothed = run(SegLossParams::default());
    let count = run(SegLossParams::default().empty(EmptyClass::CountAsOne));
    // Smoothed: class 1's term is 1 - 1e-5 / (|p_1| + 1e-5), |p_1| = 2 sigmoid(-8) ~ 6.7e-4.
    let p1 = 2.0 / (1.0 + 8f64.exp());
    assert!((smoothed[1] - (1.0 - 1e-5 / (p1 + 1e-5))).abs() < 1e-9);
    assert_eq!(count[1], 0.0);
    let mean = |p: SegLossParams| values(&p, &x, dims, &t)[0];
    let skip = mean(SegLossParams::default().empty(EmptyClass::Skip));
    let counted = mean(SegLossParams::default().empty(EmptyClass::CountAsOne));
    assert!(
        (skip - count[0]).abs() < 1e-15,
        "skip averages the present class only"
    );
    assert!(
        (counted - count[0] / 2.0).abs() < 1e-15,
        "count-as-one averages in a 0"
    );
}

#[test]
fn one_hot_and_index_targets_agree() {
    let (x, l) = common::random_case(DIMS, 7);
    let y = one_hot(&l, DIMS);
    let a = values(&SegLossParams::default(), &x, DIMS, &labels(&l));
    let b = values(
        &SegLossParams::default().target(TargetKind::OneHot),
        &x,
        DIMS,
        &dense(&y, DIMS),
    );
    assert!((a[0] - b[0]).abs() < 1e-15);
}
