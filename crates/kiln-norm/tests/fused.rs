//! The fused GroupNorm kernels agree with Burn's composite (f32) and refuse bad shapes.

use kiln_core::burn::tensor::{DType, Tensor};
use kiln_core::convert::{tensor_f32, to_vec_f32};
use kiln_core::{Autodiff, BackendKind, Precision, device};
use kiln_norm::fused::{GnShape, backward, forward};
use kiln_norm::{GroupNorm, GroupNormParams};

#[test]
fn fused_forward_and_backward_match_burn() {
    let dev = device(BackendKind::Flex, Autodiff::On, Precision::F32).unwrap();
    let (b, c, h, w, g) = (2, 8, 5, 3, 4);
    let n = b * c * h * w;
    let x: Vec<f32> = (0..n)
        .map(|i| ((i * 37 % 101) as f32 / 50.0 - 1.0) * 3.0 + 0.5)
        .collect();
    let up: Vec<f32> = (0..n).map(|i| (i * 53 % 97) as f32 / 48.0 - 1.0).collect();
    let gamma: Vec<f32> = (0..c).map(|i| 0.5 + i as f32 * 0.2).collect();
    let beta: Vec<f32> = (0..c).map(|i| i as f32 * 0.1 - 0.3).collect();
    let params = GroupNormParams::new(g, c).check().unwrap();
    let gn = GroupNorm::with_dtype(&params, &dev, DType::F32)
        .with_affine(
            tensor_f32(&gamma, [c], &dev).unwrap(),
            tensor_f32(&beta, [c], &dev).unwrap(),
        )
        .unwrap();
    let xt = tensor_f32(&x, [b, c, h, w], &dev).unwrap().require_grad();
    let y = gn.forward(xt.clone()).unwrap();
    let grads = (y.clone() * tensor_f32(&up, [b, c, h, w], &dev).unwrap())
        .sum()
        .backward();
    let want_y = to_vec_f32(&y).unwrap();
    let want_dx = to_vec_f32(&xt.grad(&grads).unwrap()).unwrap();
    let want_dg = to_vec_f32(&gn.gamma().unwrap().grad(&grads).unwrap()).unwrap();
    let want_db = to_vec_f32(&gn.beta().unwrap().grad(&grads).unwrap()).unwrap();

    let shape = GnShape {
        batch: b,
        channels: c,
        spatial: h * w,
    };
    let mut got_y = vec![0.0; n];
    let saved = forward(&params, shape, &x, &gamma, &beta, &mut got_y).unwrap();
    let mut dx = vec![0.0; n];
    let g = backward(&params, shape, &x, &gamma, &saved, &up, &mut dx).unwrap();
    let close = |what: &str, a: &[f32], b: &[f32]| {
        for (i, (p, q)) in a.iter().zip(b).enumerate() {
            assert!(
                (p - q).abs() <= 1e-4 * (1.0 + q.abs()),
                "{what}[{i}]: {p} vs {q}"
            );
        }
    };
    close("y", &got_y, &want_y);
    close("dx", &dx, &want_dx);
    close("dgamma", &g.gamma, &want_dg);
    close("dbeta", &g.beta, &want_db);

    // The tensor-level inference path gives the same output.
    let fy = to_vec_f32(
        &gn.forward_fused(tensor_f32(&x, [b, c, h, w], &dev.clone().without_autodiff()).unwrap())
            .unwrap(),
    )
    .unwrap();
    close("forward_fused", &fy, &want_y);

    // Bad shapes are errors.
    let bad = GnShape {
        channels: 4,
        ..shape
    };
    assert!(forward(&params, bad, &x, &gamma, &beta, &mut got_y).is_err());
    assert!(forward(&params, shape, &x[1..], &gamma, &beta, &mut got_y).is_err());
    assert!(backward(&params, shape, &x, &gamma[1..], &saved, &up, &mut dx).is_err());
    assert!(backward(&params, shape, &x, &gamma, &saved, &up, &mut dx[1..]).is_err());
    let _unused: Option<Tensor<1>> = None;
}
