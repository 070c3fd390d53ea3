//! The train/inference mismatch harness on the experiment's conv net.

use kiln_core::burn::tensor::Tensor;
use kiln_core::{Autodiff, BackendKind, Precision, convert, device};
use kiln_norm::experiment::model::ConvNet;
use kiln_norm::mismatch::{mode_gap, mode_gaps};
use kiln_norm::{NormError, NormKind, NormOptions};

fn images(n: usize) -> Tensor<4> {
    let dev = device(BackendKind::Flex, Autodiff::Off, Precision::F32).unwrap();
    let v: Vec<f32> = (0..n * 36)
        .map(|i| ((i * 31 % 17) as f32 - 8.0) / 4.0 + (i / 36) as f32 * 0.3)
        .collect();
    convert::tensor_f32(&v, [n, 1, 6, 6], &dev).unwrap()
}

#[test]
fn batch_independent_layers_have_no_gap_and_batchnorm_has_one() {
    let ad = device(BackendKind::Flex, Autodiff::On, Precision::F32).unwrap();
    ad.seed(5);
    let x = images(8);
    let labels = vec![0, 1, 2, 3, 0, 1, 2, 3];
    let opts = NormOptions {
        groups: 2,
        ..NormOptions::default()
    };
    for kind in [NormKind::Group, NormKind::Frn, NormKind::EvoNormS0] {
        let model = ConvNet::new(kind, &opts, [4, 4], 4, &ad).unwrap();
        for g in mode_gaps(&model, &x, &labels, &[1, 2, 4, 8]).unwrap() {
            assert!(
                g.output_gap < 1e-5,
                "{kind} at {}: {}",
                g.batch_size,
                g.output_gap
            );
            assert_eq!(g.error_gap(), 0.0);
        }
    }
    // A fresh BatchNorm has running statistics (0, 1) that differ from any batch's.
    let model = ConvNet::new(NormKind::Batch, &opts, [4, 4], 4, &ad).unwrap();
    let g = mode_gap(&model, &x, &labels, 2).unwrap();
    assert!(g.output_gap > 1e-3, "{}", g.output_gap);
    assert_eq!(g.samples, 8);
    assert!(g.train_mode_loss.is_finite() && g.eval_mode_loss.is_finite());
    // The harness did not touch the model's running statistics: same gap twice.
    assert_eq!(mode_gap(&model, &x, &labels, 2).unwrap(), g);
}

#[test]
fn harness_inputs_are_checked() {
    let ad = device(BackendKind::Flex, Autodiff::On, Precision::F32).unwrap();
    let model = ConvNet::new(
        NormKind::Group,
        &NormOptions {
            groups: 2,
            ..NormOptions::default()
        },
        [4, 4],
        4,
        &ad,
    )
    .unwrap();
    let x = images(4);
    assert!(matches!(
        mode_gap(&model, &x, &[0, 1, 2], 2),
        Err(NormError::Core(_))
    ));
    assert!(matches!(
        mode_gap(&model, &x, &[0, 1, 2, 3], 0),
        Err(NormError::Core(_))
    ));
    assert!(matches!(
        mode_gap(&model, &x, &[0, 1, 2, 3], 5),
        Err(NormError::Core(_))
    ));
    assert!(matches!(
        mode_gap(&model, &x, &[0, 1, 2, 9], 2),
        Err(NormError::Core(_))
    ));
}
