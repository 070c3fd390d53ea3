//! 3-D volumes: the losses see pixels only through sums per (image, class), so a volume
//! `[B, C, D, H, W]` is the image `[B, C, D*H, W]` (a free reshape) and its class map
//! `[B, D, H, W]` the map `[B, D*H, W]`. Checked against MONAI 1.6.1 run on the volume itself
//! (tests/data/volume_monai.json, made by make_volume_monai.py): values and gradients with
//! respect to the logits, in f64, on the fused and the tensor-op path. The Dice+CE cases are
//! also the crate's check of Dice+CE against MONAI's `DiceCELoss` (softmax) and against
//! MONAI's sigmoid `DiceLoss` plus torch's `BCEWithLogitsLoss` (sigmoid).

mod common;

use common::f64s;
use kiln_core::burn::tensor::Tensor;
use kiln_core::{Autodiff, BackendKind, Precision, convert, device};
use kiln_losses::{Activation, LossKind, Reduction, SegLoss, SegLossParams, SegTarget};
use serde_json::Value;

fn dice_ce(lambda_dice: f64, lambda_ce: f64) -> LossKind {
    LossKind::DiceCe {
        lambda_dice,
        lambda_ce,
    }
}

fn params(name: &str) -> SegLossParams {
    match name {
        "dice_softmax" => SegLossParams::new(LossKind::Dice),
        "jaccard_softmax" => SegLossParams::new(LossKind::Jaccard),
        "dice_sigmoid" => SegLossParams::new(LossKind::Dice).activation(Activation::Sigmoid),
        "tversky_softmax_0.3_0.7" => SegLossParams::new(LossKind::Tversky {
            alpha: 0.3,
            beta: 0.7,
        }),
        "dice_softmax_batch" => SegLossParams::new(LossKind::Dice).reduction(Reduction::Batch),
        "dice_ce_softmax" => SegLossParams::new(dice_ce(1.0, 1.0)),
        // Sigmoid Dice + binary cross-entropy (see make_volume_monai.py for why this is not
        // MONAI's DiceCELoss(sigmoid=True)).
        "dice_bce_sigmoid" => SegLossParams::new(dice_ce(1.0, 1.0)).activation(Activation::Sigmoid),
        "dice_ce_softmax_0.4_1.6" => SegLossParams::new(dice_ce(0.4, 1.6)),
        other => panic!("no parameters for case {other}"),
    }
}

#[test]
fn a_volume_is_the_image_of_its_flattened_depth_and_height() {
    let data: Value = serde_json::from_str(include_str!("data/volume_monai.json")).unwrap();
    let shape: Vec<usize> = data["shape"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_u64().unwrap() as usize)
        .collect();
    let [b, c, d, h, w] = <[usize; 5]>::try_from(shape).unwrap();
    let logits = f64s(&data["logits"]);
    let labels: Vec<i64> = f64s(&data["labels"]).iter().map(|&v| v as i64).collect();
    let dev = device(BackendKind::Flex, Autodiff::On, Precision::F32).unwrap();
    let cases = data["cases"].as_array().unwrap();
    assert_eq!(cases.len(), 8);
    for case in cases {
        let name = case["name"].as_str().unwrap();
        let loss = SegLoss::from_params(&params(name)).unwrap();
        for composite in [false, true] {
            let volume: Tensor<5> = convert::tensor_f64(&logits, [b, c, d, h, w], &dev)
                .unwrap()
                .require_grad();
            // The documented way in: reshape the logits, give the class map the same shape.
            let image = volume.clone().reshape([b, c, d * h, w]);
            let target = SegTarget::indices(labels.clone(), [b, d * h, w]);
            let value = if composite {
                let prepared = loss.prepare(&target, &image).unwrap();
                loss.forward_composite(image, &prepared).unwrap()
            } else {
                loss.forward(image, &target).unwrap()
            };
            let v = convert::scalar_f64(&value).unwrap();
            let grad = volume.grad(&value.backward()).unwrap();
            assert_eq!(grad.dims(), [b, c, d, h, w]);
            let g = convert::to_vec_f64(&grad).unwrap();
            let (v_ref, g_ref) = (case["loss"].as_f64().unwrap(), f64s(&case["grad_logits"]));
            let scale = g_ref.iter().fold(0.0f64, |m, x| m.max(x.abs()));
            let eg = g
                .iter()
                .zip(&g_ref)
                .map(|(a, r)| (a - r).abs() / r.abs().max(1e-3 * scale))
                .fold(0.0, f64::max);
            assert!(
                (v - v_ref).abs() <= 1e-6 * v_ref.abs() && eg <= 1e-6,
                "{name} (composite {composite}): {v} vs {v_ref}, gradient {eg:e}"
            );
        }
    }
}
