//! Soft Dice, Jaccard, Tversky and Lovász on one small batch, their gradients, the hard
//! per-class scores and the per-class gradient norms.
//!
//! ```sh
//! cargo run -p kiln-losses --example losses_basics
//! ```

use kiln_core::{Autodiff, BackendKind, Precision, convert, device};
use kiln_losses::{
    EmptyClass, LossKind, Reduction, SegLoss, SegLossParams, SegTarget, class_gradient_norms,
    hard_scores,
};

fn main() -> Result<(), kiln_losses::LossError> {
    let dev = device(BackendKind::Flex, Autodiff::On, Precision::F32)?;
    // Two 4x4 images, 3 classes; class 2 is absent from image 0.
    let labels: Vec<i64> = vec![
        0, 0, 1, 1, 0, 0, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, // image 0
        0, 2, 2, 0, 0, 2, 2, 0, 1, 1, 0, 0, 1, 1, 0, 0, // image 1
    ];
    let target = SegTarget::indices(labels.clone(), [2, 4, 4]);
    // Logits that mostly agree with the labels.
    let logits: Vec<f64> = (0..2 * 3 * 16)
        .map(|i| {
            let (img, c, px) = (i / 48, (i / 16) % 3, i % 16);
            let right = labels[img * 16 + px] == c as i64;
            if right { 2.0 } else { -1.0 + 0.1 * (px as f64) }
        })
        .collect();
    let x = convert::tensor_f64(&logits, [2, 3, 4, 4], &dev)?;

    for (name, params) in [
        ("Dice (MONAI defaults)", SegLossParams::new(LossKind::Dice)),
        ("Jaccard", SegLossParams::new(LossKind::Jaccard)),
        (
            "Tversky a=0.3 b=0.7",
            SegLossParams::new(LossKind::Tversky {
                alpha: 0.3,
                beta: 0.7,
            }),
        ),
        (
            "Dice, smp conventions",
            SegLossParams::new(LossKind::Dice)
                .smooth_nr(0.0)
                .smooth_dr(0.0)
                .reduction(Reduction::Batch)
                .empty(EmptyClass::CountAsOne),
        ),
        (
            "Lovász-softmax (present classes)",
            SegLossParams::new(LossKind::LovaszSoftmax).empty(EmptyClass::Skip),
        ),
    ] {
        let loss = SegLoss::new(params.check()?);
        let xi = x.clone().require_grad();
        let value = loss.forward(xi.clone(), &target)?;
        let grad = xi.grad(&value.backward()).expect("logits reach the loss");
        let g = convert::to_vec_f64(&grad)?;
        let norm = g.iter().map(|v| v * v).sum::<f64>().sqrt();
        println!(
            "{name:34} loss {:.6}  |grad| {norm:.3e}",
            convert::scalar_f64(&value)?
        );
    }

    let dice = SegLoss::new(SegLossParams::default().check()?);
    let scores = hard_scores(&dice, &x, &target)?;
    for c in scores.per_class() {
        println!(
            "class {}: hard Dice {:?}, hard IoU {:?}",
            c.class, c.dice, c.iou
        );
    }
    let norms = class_gradient_norms(&dice, &x, &target)?;
    let norms: Vec<String> = norms.iter().map(|n| format!("{n:.3e}")).collect();
    println!(
        "per-class gradient norms of soft Dice: {}",
        norms.join(", ")
    );
    Ok(())
}
