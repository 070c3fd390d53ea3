//! Hard per-image, per-class Dice/IoU by hand, and the per-class gradient-norm diagnostic.

mod common;

use common::dev;
use kiln_core::convert;
use kiln_losses::{
    EmptyClass, LossKind, SegLoss, SegLossParams, SegTarget, class_gradient_norms, hard_scores,
};

#[test]
fn hard_scores_by_hand() {
    // One image, 2 classes, 4 pixels. Predicted (argmax): 0 0 1 1. Target: 0 1 1 1.
    let x = [2.0, 2.0, -2.0, -2.0, -2.0, -2.0, 2.0, 2.0];
    let t = convert::tensor_f64(&x, [1, 2, 1, 4], &dev()).unwrap();
    let loss = SegLoss::from_params(&SegLossParams::default()).unwrap();
    let s = hard_scores(&loss, &t, &SegTarget::indices(vec![0, 1, 1, 1], [1, 1, 4])).unwrap();
    // class 0: P = {0,1}, Y = {0}: Dice 2/3, IoU 1/2. class 1: P = {2,3}, Y = {1,2,3}: 4/5, 2/3.
    assert_eq!(s.dice, vec![Some(2.0 / 3.0), Some(0.8)]);
    assert_eq!(s.iou, vec![Some(0.5), Some(2.0 / 3.0)]);
    let pc = s.per_class();
    assert_eq!(pc[1].dice, Some(0.8));
    // Both empty -> undefined; ignored pixels are skipped.
    let loss = SegLoss::from_params(&SegLossParams::default().ignore_index(9)).unwrap();
    let s = hard_scores(&loss, &t, &SegTarget::indices(vec![0, 0, 9, 9], [1, 1, 4])).unwrap();
    assert_eq!(s.dice, vec![Some(1.0), None]);
}

#[test]
fn gradient_norms_show_which_class_is_pushed() {
    let (x, mut labels) = common::random_case([1, 3, 6, 6], 3);
    // Class 2 empty: under count-as-one it gets no direct push, only the softmax coupling.
    for l in labels.iter_mut().filter(|l| **l == 2) {
        *l = 0;
    }
    let t = convert::tensor_f64(&x, [1, 3, 6, 6], &dev().without_autodiff()).unwrap();
    let target = SegTarget::indices(labels, [1, 6, 6]);
    let smoothed = SegLoss::from_params(&SegLossParams::new(LossKind::Dice)).unwrap();
    let counted =
        SegLoss::from_params(&SegLossParams::new(LossKind::Dice).empty(EmptyClass::CountAsOne))
            .unwrap();
    let a = class_gradient_norms(&smoothed, &t, &target).unwrap();
    let b = class_gradient_norms(&counted, &t, &target).unwrap();
    assert_eq!(a.len(), 3);
    assert!(a.iter().chain(&b).all(|v| v.is_finite() && *v >= 0.0));
    // Smoothed empty class: its term (~1, pushed down by shrinking p_2) adds a push on class 2.
    assert!(a[2] > b[2], "{a:?} vs {b:?}");
}
