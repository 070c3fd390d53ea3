//! The fused GroupNorm kernels agree with Burn's composite (f32) and refuse bad shapes.

use kiln_core::burn::tensor::{DType, Tensor};
use kiln_core::convert::{tensor_f32, tensor_f64, to_vec_f32};
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
    // Output and gradients (input, gamma, beta) of `y . up` through `layer`.
    let run = |layer: &dyn Fn(Tensor<4>) -> Tensor<4>| {
        let xt = tensor_f32(&x, [b, c, h, w], &dev).unwrap().require_grad();
        let y = layer(xt.clone());
        let grads = (y.clone() * tensor_f32(&up, [b, c, h, w], &dev).unwrap())
            .sum()
            .backward();
        [
            to_vec_f32(&y).unwrap(),
            to_vec_f32(&xt.grad(&grads).unwrap()).unwrap(),
            to_vec_f32(&gn.gamma().unwrap().grad(&grads).unwrap()).unwrap(),
            to_vec_f32(&gn.beta().unwrap().grad(&grads).unwrap()).unwrap(),
        ]
    };
    // The reference: Burn's composite GroupNorm (the wrapped layer).
    let [want_y, want_dx, want_dg, want_db] = run(&|x| gn.clone().into_burn().forward(x));

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

    // Training through `forward` (autodiff on: the fused kernels as one graph node), and a
    // strided input (the composite): the same output and gradients.
    let [y, dx_node, dg, db] = run(&|x| gn.forward(x).unwrap());
    close("node y", &y, &want_y);
    close("node dx", &dx_node, &want_dx);
    close("node dgamma", &dg, &want_dg);
    close("node dbeta", &db, &want_db);
    let [y, dx_strided, ..] = run(&|x| {
        gn.forward(x.swap_dims(2, 3).mul_scalar(1.0).swap_dims(2, 3))
            .unwrap()
    });
    close("strided y", &y, &want_y);
    close("strided dx", &dx_strided, &want_dx);

    // The tensor-level inference path gives the same output.
    let fy = to_vec_f32(
        &gn.forward_fused(tensor_f32(&x, [b, c, h, w], &dev.clone().without_autodiff()).unwrap())
            .unwrap(),
    )
    .unwrap();
    close("forward_fused", &fy, &want_y);
    // `forward` on flex with autodiff off takes the fused path; it agrees with the composite
    // (autodiff on), and the caller's other handle on the input keeps its values (copy on write).
    let plain = dev.clone().without_autodiff();
    let gn_plain = GroupNorm::with_dtype(&params, &plain, DType::F32)
        .with_affine(
            tensor_f32(&gamma, [c], &plain).unwrap(),
            tensor_f32(&beta, [c], &plain).unwrap(),
        )
        .unwrap();
    let xp = tensor_f32(&x, [b, c, h, w], &plain).unwrap();
    let kept = xp.clone();
    close(
        "forward (fused)",
        &to_vec_f32(&gn_plain.forward(xp).unwrap()).unwrap(),
        &want_y,
    );
    assert_eq!(to_vec_f32(&kept).unwrap(), x);
    // An f64 input goes through f32 and comes back as f64.
    let x64: Vec<f64> = x.iter().map(|&v| v as f64).collect();
    let y64 = gn_plain
        .forward_fused(tensor_f64(&x64, [b, c, h, w], &plain).unwrap())
        .unwrap();
    assert_eq!(y64.dtype(), DType::F64);
    close("forward_fused f64", &to_vec_f32(&y64).unwrap(), &want_y);

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

/// Host f64 GroupNorm forward and backward (gamma 1, beta 0, blocks of `block` values) of f32
/// inputs, two-pass: the reference for the large-offset test.
fn reference(x: &[f32], dy: &[f32], block: usize, eps: f64) -> (Vec<f64>, Vec<f64>) {
    let (mut y, mut dx) = (vec![0.0; x.len()], vec![0.0; x.len()]);
    for (i, (xs, ds)) in x.chunks(block).zip(dy.chunks(block)).enumerate() {
        let n = block as f64;
        let m = xs.iter().map(|&v| v as f64).sum::<f64>() / n;
        let var = xs.iter().map(|&v| (v as f64 - m).powi(2)).sum::<f64>() / n;
        let rstd = 1.0 / (var + eps).sqrt();
        let xhat: Vec<f64> = xs.iter().map(|&v| (v as f64 - m) * rstd).collect();
        let mdy = ds.iter().map(|&v| v as f64).sum::<f64>() / n;
        let mdyx = ds
            .iter()
            .zip(&xhat)
            .map(|(&d, &h)| d as f64 * h)
            .sum::<f64>()
            / n;
        for (k, (&d, &h)) in ds.iter().zip(&xhat).enumerate() {
            y[i * block + k] = h;
            dx[i * block + k] = rstd * (d as f64 - mdy - h * mdyx);
        }
    }
    (y, dx)
}

/// Inputs with mean 1e4 and standard deviation 1: the variance must not cancel (a one-pass
/// `E[x^2] - E[x]^2` in f32 loses every digit here). f32 inputs at 1e4 are spaced ~1e-3 apart,
/// so ~1e-3 is the attainable accuracy of the normalized output.
#[test]
fn large_offset_input_still_normalizes() {
    use rand::RngExt;
    use rand_distr::{Distribution, Normal};
    let (b, c, g, spatial) = (2, 8, 4, 3000);
    let n = b * c * spatial;
    let mut rng = kiln_core::seed::rng(7);
    let normal = Normal::new(1.0e4f64, 1.0).unwrap();
    let mut x: Vec<f32> = (0..n).map(|_| normal.sample(&mut rng) as f32).collect();
    let dy: Vec<f32> = (0..n).map(|_| rng.random_range(-1.0f32..1.0)).collect();
    let block = c / g * spatial;
    // Second group of every sample: its first value (the kernel's shift) 50 standard
    // deviations out, which takes the second, mean-centred pass.
    for b0 in (block..n).step_by(2 * block) {
        x[b0] += 50.0;
    }
    let params = GroupNormParams::new(g, c).check().unwrap();
    let shape = GnShape {
        batch: b,
        channels: c,
        spatial,
    };
    let (ones, zeros) = (vec![1.0; c], vec![0.0; c]);
    let mut y = vec![0.0; n];
    let saved = forward(&params, shape, &x, &ones, &zeros, &mut y).unwrap();
    let mut dx = vec![0.0; n];
    backward(&params, shape, &x, &ones, &saved, &dy, &mut dx).unwrap();
    let (want_y, want_dx) = reference(&x, &dy, block, params.epsilon());
    for (i, (p, q)) in y.iter().zip(&want_y).enumerate() {
        assert!((*p as f64 - q).abs() <= 2e-3, "y[{i}]: {p} vs {q}");
    }
    for (i, (p, q)) in dx.iter().zip(&want_dx).enumerate() {
        assert!(
            (*p as f64 - q).abs() <= 2e-3 * (1.0 + q.abs()),
            "dx[{i}]: {p} vs {q}"
        );
    }
    for ys in y.chunks(block) {
        let m = ys.iter().map(|&v| v as f64).sum::<f64>() / block as f64;
        let v = ys.iter().map(|&v| (v as f64 - m).powi(2)).sum::<f64>() / block as f64;
        assert!(
            m.abs() < 1e-3 && (v - 1.0).abs() < 1e-3,
            "group mean {m}, variance {v}"
        );
    }
    // The in-place variant gives the same output bit for bit.
    let mut xy = x.clone();
    let saved2 =
        kiln_norm::fused::forward_in_place(&params, shape, &mut xy, &ones, &zeros).unwrap();
    assert_eq!(xy, y);
    assert_eq!(saved2, saved);
}

/// Without the affine, on a 3-D input, training through `forward` (the graph node) gives
/// Burn's composite output and input gradient.
#[test]
fn node_without_affine_matches_burn() {
    let dev = device(BackendKind::Flex, Autodiff::On, Precision::F32).unwrap();
    let (b, c, l, g) = (2, 6, 7, 3);
    let n = b * c * l;
    let x: Vec<f32> = (0..n)
        .map(|i| ((i * 29 % 83) as f32 / 40.0 - 1.0) * 2.0)
        .collect();
    let up: Vec<f32> = (0..n).map(|i| (i * 17 % 61) as f32 / 30.0 - 1.0).collect();
    let params = GroupNormParams::new(g, c).affine(false).check().unwrap();
    let gn = GroupNorm::with_dtype(&params, &dev, DType::F32);
    assert!(gn.gamma().is_none());
    let run = |layer: &dyn Fn(Tensor<3>) -> Tensor<3>| {
        let xt = tensor_f32(&x, [b, c, l], &dev).unwrap().require_grad();
        let y = layer(xt.clone());
        let grads = (y.clone() * tensor_f32(&up, [b, c, l], &dev).unwrap())
            .sum()
            .backward();
        (
            to_vec_f32(&y).unwrap(),
            to_vec_f32(&xt.grad(&grads).unwrap()).unwrap(),
        )
    };
    let (want_y, want_dx) = run(&|x| gn.clone().into_burn().forward(x));
    let (y, dx) = run(&|x| gn.forward(x).unwrap());
    for (what, got, want) in [("y", &y, &want_y), ("dx", &dx, &want_dx)] {
        for (i, (p, q)) in got.iter().zip(want).enumerate() {
            assert!(
                (p - q).abs() <= 1e-4 * (1.0 + q.abs()),
                "{what}[{i}]: {p} vs {q}"
            );
        }
    }
}
