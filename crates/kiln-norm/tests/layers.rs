//! The layers Burn lacks: gradients against finite differences (kiln_core::grad_check),
//! formulas on small cases computed by hand, and invariants (proptest).

use kiln_core::burn::module::Module;
use kiln_core::burn::tensor::module::conv2d;
use kiln_core::burn::tensor::ops::ConvOptions;
use kiln_core::burn::tensor::{DType, Device, Tensor};
use kiln_core::convert::{tensor_f64, to_vec_f64};
use kiln_core::{Autodiff, BackendKind, GradCheckConfig, Precision, device, grad_check};
use kiln_norm::precise::precise_bn;
use kiln_norm::ws::standardize_weight;
use kiln_norm::{
    BatchNorm, BatchNormParams, BatchRenorm, BatchRenormParams, ClipSchedule, EvoNormS0,
    EvoNormS0Params, Frn, FrnParams, GhostBatchNorm, GhostBatchNormParams, GroupNorm,
    GroupNormParams, Norm, NormKind, NormOptions, NormSites, PreciseBnParams,
};
use proptest::prelude::*;

fn ad() -> Device {
    device(BackendKind::Flex, Autodiff::On, Precision::F32).unwrap()
}

/// Puts a plain tensor on the autodiff device, so the finite-difference pass of `grad_check`
/// (which runs on the plain device) takes the same training path as the autodiff pass.
fn lift<const D: usize>(x: Tensor<D>) -> Tensor<D> {
    if x.device().is_autodiff() {
        x
    } else {
        Tensor::from_inner(x)
    }
}

/// Deterministic pseudo-random values in [-1, 1].
fn values(n: usize, seed: u64) -> Vec<f64> {
    let mut s = seed
        .wrapping_mul(6364136223846793005)
        .wrapping_add(1442695040888963407);
    (0..n)
        .map(|_| {
            s = s
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            ((s >> 11) as f64 / (1u64 << 53) as f64) * 2.0 - 1.0
        })
        .collect()
}

fn t1(v: &[f64], dev: &Device) -> Tensor<1> {
    tensor_f64(v, [v.len()], dev).unwrap()
}

fn check(name: &str, report: kiln_core::GradCheckReport) {
    assert!(report.passed, "{name}: {report}");
}

#[test]
fn batch_renorm_gradient_with_saturated_clips() {
    // r and d are constants in Batch Renorm's backward pass, so its gradient is the true one
    // exactly where the clips saturate: running statistics far from the batch's.
    let dev = ad();
    let (b, c, l) = (3, 2, 4);
    let x = values(b * c * l, 1);
    let w = values(b * c * l, 2);
    let params = BatchRenormParams::new(c)
        .r_max(ClipSchedule::constant(2.0))
        .d_max(ClipSchedule::constant(0.5))
        .check()
        .unwrap();
    let f = |x: Tensor<3>| {
        let layer = BatchRenorm::with_dtype(&params, &dev, DType::F64)
            .with_running_stats(t1(&[-10.0, 10.0], &dev), t1(&[100.0, 100.0], &dev))
            .unwrap();
        let y = layer.forward(lift(x)).unwrap();
        (y * tensor_f64(&w, [b, c, l], &dev).unwrap()).sum()
    };
    check(
        "BatchRenorm",
        grad_check(f, &x, [b, c, l], &dev, &GradCheckConfig::default()).unwrap(),
    );
}

#[test]
fn ghost_batchnorm_gradient() {
    let dev = ad();
    let (b, c, l) = (5, 2, 3);
    let x = values(b * c * l, 3);
    let w = values(b * c * l, 4);
    let params = GhostBatchNormParams::new(c)
        .virtual_batch(2)
        .check()
        .unwrap();
    let layer = GhostBatchNorm::with_dtype(&params, &dev, DType::F64);
    let f = |x: Tensor<3>| {
        let y = layer.forward(lift(x)).unwrap();
        (y * tensor_f64(&w, [b, c, l], &dev).unwrap()).sum()
    };
    check(
        "GhostBatchNorm",
        grad_check(f, &x, [b, c, l], &dev, &GradCheckConfig::default()).unwrap(),
    );
}

#[test]
fn frn_tlu_gradient() {
    let dev = ad();
    let (b, c, h, wd) = (2, 3, 2, 3);
    let n = b * c * h * wd;
    let x = values(n, 5);
    let w = values(n, 6);
    let layer = Frn::with_dtype(&FrnParams::new(c).check().unwrap(), &dev, DType::F64).with_params(
        t1(&[1.0, 0.7, -1.2], &dev),
        t1(&[0.1, -0.2, 0.05], &dev),
        t1(&[-0.3, 0.2, -0.5], &dev),
    );
    let f = |x: Tensor<4>| {
        (layer.forward(lift(x)).unwrap() * tensor_f64(&w, [b, c, h, wd], &dev).unwrap()).sum()
    };
    check(
        "Frn",
        grad_check(f, &x, [b, c, h, wd], &dev, &GradCheckConfig::default()).unwrap(),
    );
}

#[test]
fn evonorm_s0_gradient() {
    let dev = ad();
    let (b, c, l) = (2, 4, 5);
    let x = values(b * c * l, 7);
    let w = values(b * c * l, 8);
    let layer = EvoNormS0::with_dtype(
        &EvoNormS0Params::new(2, c).check().unwrap(),
        &dev,
        DType::F64,
    )
    .with_params(
        t1(&[1.0, 0.5, -0.7, 1.3], &dev),
        t1(&[0.0, 0.1, -0.1, 0.2], &dev),
        t1(&[1.0, -0.5, 0.8, 2.0], &dev),
    );
    let f = |x: Tensor<3>| {
        (layer.forward(lift(x)).unwrap() * tensor_f64(&w, [b, c, l], &dev).unwrap()).sum()
    };
    check(
        "EvoNormS0",
        grad_check(f, &x, [b, c, l], &dev, &GradCheckConfig::default()).unwrap(),
    );
}

#[test]
fn weight_standardization_gradient_reaches_the_raw_weight() {
    let dev = ad();
    let (co, ci, k) = (3, 2, 3);
    let wshape = [co, ci, k, k];
    let weight = values(co * ci * k * k, 9);
    let x = tensor_f64(&values(2 * ci * 5 * 5, 10), [2, ci, 5, 5], &dev).unwrap();
    let up = values(2 * co * 5 * 5, 11);
    let f = |w: Tensor<4>| {
        let w = standardize_weight(lift(w), 1e-5);
        let y = conv2d(
            x.clone(),
            w,
            None,
            ConvOptions::new([1, 1], [1, 1], [1, 1], 1),
        );
        (y * tensor_f64(&up, [2, co, 5, 5], &dev).unwrap()).sum()
    };
    check(
        "WsConv2d",
        grad_check(f, &weight, wshape, &dev, &GradCheckConfig::default()).unwrap(),
    );
    // Each standardized filter has mean 0 and variance var/(var + eps).
    let ws = to_vec_f64(&standardize_weight(
        tensor_f64(&weight, wshape, &dev).unwrap(),
        1e-5,
    ))
    .unwrap();
    for o in 0..co {
        let raw = &weight[o * 18..(o + 1) * 18];
        let s = &ws[o * 18..(o + 1) * 18];
        let m: f64 = s.iter().sum::<f64>() / 18.0;
        let rm: f64 = raw.iter().sum::<f64>() / 18.0;
        let rv: f64 = raw.iter().map(|v| (v - rm).powi(2)).sum::<f64>() / 18.0;
        let v: f64 = s.iter().map(|v| (v - m).powi(2)).sum::<f64>() / 18.0;
        assert!(m.abs() < 1e-12 && (v - rv / (rv + 1e-5)).abs() < 1e-12);
    }
}

#[test]
fn frn_and_evonorm_match_their_formulas_by_hand() {
    let dev = ad().without_autodiff();
    let (c, l) = (2, 3);
    let x = values(c * l, 12);
    let xt = tensor_f64(&x, [1, c, l], &dev).unwrap();
    let frn = Frn::with_dtype(&FrnParams::new(c).check().unwrap(), &dev, DType::F64).with_params(
        t1(&[2.0, 1.0], &dev),
        t1(&[0.5, 0.0], &dev),
        t1(&[0.0, -0.1], &dev),
    );
    let got = to_vec_f64(&frn.forward(xt.clone()).unwrap()).unwrap();
    let (gamma, beta, tau) = ([2.0, 1.0], [0.5, 0.0], [0.0, -0.1]);
    for ch in 0..c {
        let row = &x[ch * l..(ch + 1) * l];
        let nu2 = row.iter().map(|v| v * v).sum::<f64>() / l as f64;
        for (i, v) in row.iter().enumerate() {
            let want = (gamma[ch] * v / (nu2 + 1e-6).sqrt() + beta[ch]).max(tau[ch]);
            assert!((got[ch * l + i] - want).abs() < 1e-12);
        }
    }
    // EvoNorm-S0 with one group.
    let evo = EvoNormS0::with_dtype(
        &EvoNormS0Params::new(1, c).check().unwrap(),
        &dev,
        DType::F64,
    )
    .with_params(
        t1(&[1.0, 2.0], &dev),
        t1(&[0.0, 0.3], &dev),
        t1(&[1.0, -1.0], &dev),
    );
    let got = to_vec_f64(&evo.forward(xt).unwrap()).unwrap();
    let mean = x.iter().sum::<f64>() / x.len() as f64;
    let var = x.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / x.len() as f64;
    let (g2, b2, v2) = ([1.0, 2.0], [0.0, 0.3], [1.0, -1.0]);
    for ch in 0..c {
        for i in 0..l {
            let v = x[ch * l + i];
            let sig = 1.0 / (1.0 + (-v2[ch] * v).exp());
            let want = v * sig / (var + 1e-5).sqrt() * g2[ch] + b2[ch];
            assert!((got[ch * l + i] - want).abs() < 1e-12);
        }
    }
}

#[test]
fn ghost_batchnorm_is_batchnorm_per_ghost_batch() {
    let dev = ad();
    let (b, c, l) = (4, 2, 3);
    let x = values(b * c * l, 13);
    let ghost = GhostBatchNorm::with_dtype(
        &GhostBatchNormParams::new(c)
            .virtual_batch(2)
            .check()
            .unwrap(),
        &dev,
        DType::F64,
    );
    let bn = BatchNorm::with_dtype(&BatchNormParams::new(c).check().unwrap(), &dev, DType::F64);
    let got = to_vec_f64(
        &ghost
            .forward(tensor_f64(&x, [b, c, l], &dev).unwrap())
            .unwrap(),
    )
    .unwrap();
    let half = b * c * l / 2;
    let mut want = to_vec_f64(
        &bn.forward(tensor_f64(&x[..half], [2, c, l], &dev).unwrap())
            .unwrap(),
    )
    .unwrap();
    want.extend(
        to_vec_f64(
            &bn.forward(tensor_f64(&x[half..], [2, c, l], &dev).unwrap())
                .unwrap(),
        )
        .unwrap(),
    );
    assert_eq!(got.len(), want.len());
    assert!(got.iter().zip(&want).all(|(a, b)| (a - b).abs() < 1e-12));
    let rv = to_vec_f64(&ghost.batch_norm().running_var()).unwrap();
    let rv_bn = to_vec_f64(&bn.running_var()).unwrap();
    assert!(rv.iter().zip(&rv_bn).all(|(a, b)| (a - b).abs() < 1e-12));
}

struct TwoSites {
    a: Norm,
    b: Norm,
}

impl NormSites for TwoSites {
    fn for_each_norm(&mut self, f: &mut dyn FnMut(&mut Norm)) {
        f(&mut self.a);
        f(&mut self.b);
    }
}

#[test]
fn precise_bn_is_the_plain_average_of_batch_statistics() {
    let dev = ad();
    let c = 2;
    let opts = NormOptions::default();
    let mut model = TwoSites {
        a: Norm::build(NormKind::Batch, c, &opts, &dev).unwrap(),
        b: Norm::build(NormKind::Frn, c, &opts, &dev).unwrap(),
    };
    let batches: Vec<Vec<f64>> = (0..4)
        .map(|s| {
            values(3 * c * 2, 20 + s)
                .iter()
                .map(|v| v * (1.0 + s as f64))
                .collect()
        })
        .collect();
    let tensors: Vec<Tensor<3>> = batches
        .iter()
        .map(|v| tensor_f64(v, [3, c, 2], &dev).unwrap().cast(DType::F32))
        .collect();
    let params = PreciseBnParams::new().num_batches(3).check().unwrap();
    let used = precise_bn(&mut model, &params, tensors, |m, x| {
        m.a.forward(x).map(|_| ())
    })
    .unwrap();
    assert_eq!(used, 3);
    let Norm::Batch(bn) = &model.a else {
        panic!("site a is BatchNorm")
    };
    assert!((bn.momentum() - 0.1).abs() < 1e-15, "momentum restored");
    let rm = to_vec_f64(&bn.running_mean()).unwrap();
    let rv = to_vec_f64(&bn.running_var()).unwrap();
    for ch in 0..c {
        let mut means = 0.0;
        let mut vars = 0.0;
        for batch in &batches[..3] {
            let vals: Vec<f64> = (0..3)
                .flat_map(|s| (0..2).map(move |i| (s, i)))
                .map(|(s, i)| batch[s * c * 2 + ch * 2 + i])
                .collect();
            let m = vals.iter().sum::<f64>() / 6.0;
            means += m / 3.0;
            vars += vals.iter().map(|v| (v - m).powi(2)).sum::<f64>() / 5.0 / 3.0;
        }
        assert!(
            (rm[ch] - means).abs() < 1e-5,
            "mean {ch}: {} vs {means}",
            rm[ch]
        );
        assert!(
            (rv[ch] - vars).abs() < 1e-5 * vars.max(1.0),
            "var {ch}: {} vs {vars}",
            rv[ch]
        );
    }
    let empty: Vec<Tensor<3>> = Vec::new();
    assert!(
        precise_bn(&mut model, &params, empty, |m, x| m
            .a
            .forward(x)
            .map(|_| ()))
        .is_err()
    );
}

#[test]
fn swap_replaces_every_batchnorm_site_and_keeps_the_affine() {
    let dev = ad();
    let opts = NormOptions::default();
    let mut model = TwoSites {
        a: Norm::build(NormKind::Batch, 8, &opts, &dev).unwrap(),
        b: Norm::build(NormKind::Frn, 8, &opts, &dev).unwrap(),
    };
    let swapped = kiln_norm::norm::swap_batch_for_group(&mut model, 4).unwrap();
    assert_eq!(swapped, 1);
    let Norm::Group(gn) = &model.a else {
        panic!("site a became GroupNorm")
    };
    assert_eq!((gn.groups(), gn.channels()), (4, 8));
    assert!(matches!(model.b, Norm::Frn(_)));
    let y = model
        .a
        .forward(Tensor::<4>::ones([2, 8, 3, 3], &dev))
        .unwrap();
    assert_eq!(y.dims(), [2, 8, 3, 3]);
    assert!(kiln_norm::norm::swap_batch_for_group(&mut model, 0).is_err());
}

#[test]
fn groupnorm_of_two_elements_is_computed_not_a_panic() {
    // Burn's GroupNorm panics on inputs of at most two elements (its rank check counts
    // elements); kiln computes them (found by the proptest below in CI).
    let dev = ad().without_autodiff();
    let gn = GroupNorm::with_dtype(
        &GroupNormParams::new(1, 1).check().unwrap(),
        &dev,
        DType::F64,
    );
    let x = tensor_f64(&[1.0, 3.0], [1, 1, 1, 2], &dev).unwrap();
    let y = to_vec_f64(&gn.forward(x).unwrap()).unwrap();
    let s = (1.0f64 / (1.0 + 1e-5)).sqrt();
    assert!((y[0] + s).abs() < 1e-6 && (y[1] - s).abs() < 1e-6, "{y:?}");
}

fn group_stats(x: &[f64], b: usize, g: usize, per_group: usize) -> Vec<(f64, f64)> {
    (0..b * g)
        .map(|i| {
            let s = &x[i * per_group..(i + 1) * per_group];
            let m = s.iter().sum::<f64>() / per_group as f64;
            let v = s.iter().map(|v| (v - m).powi(2)).sum::<f64>() / per_group as f64;
            (m, v)
        })
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    #[test]
    fn groupnorm_groups_have_mean_0_and_variance_1_before_affine(
        b in 1usize..3, g in 1usize..4, k in 1usize..3, h in 1usize..4, w in 2usize..4,
        scale in 0.1f64..10.0, seed in 0u64..1000,
    ) {
        let dev = ad().without_autodiff();
        let c = g * k;
        let x: Vec<f64> = values(b * c * h * w, seed).iter().map(|v| v * scale + 3.0).collect();
        let gn = GroupNorm::with_dtype(&GroupNormParams::new(g, c).affine(false).check().unwrap(), &dev, DType::F64);
        let y = to_vec_f64(&gn.forward(tensor_f64(&x, [b, c, h, w], &dev).unwrap()).unwrap()).unwrap();
        let per_group = k * h * w;
        for ((_, vin), (mout, vout)) in group_stats(&x, b, g, per_group).into_iter().zip(group_stats(&y, b, g, per_group)) {
            prop_assert!(mout.abs() < 1e-9, "group mean {mout}");
            // exactly var / (var + eps): ~1 unless the group is almost constant
            prop_assert!((vout - vin / (vin + 1e-5)).abs() < 1e-9, "group variance {vout} for input variance {vin}");
        }
    }

    #[test]
    fn batch_renorm_with_r_1_d_0_is_batchnorm(
        b in 2usize..4, c in 1usize..4, l in 1usize..4, seed in 0u64..1000,
    ) {
        let dev = ad();
        let renorm = BatchRenorm::with_dtype(
            &BatchRenormParams::new(c).r_max(ClipSchedule::constant(1.0)).d_max(ClipSchedule::constant(0.0)).check().unwrap(),
            &dev, DType::F64,
        );
        let bn = BatchNorm::with_dtype(&BatchNormParams::new(c).check().unwrap(), &dev, DType::F64);
        let up = tensor_f64(&values(b * c * l, seed + 1), [b, c, l], &dev).unwrap();
        for step in 0..2u64 {
            let x = values(b * c * l, seed * 7 + step);
            let xa = tensor_f64(&x, [b, c, l], &dev).unwrap().require_grad();
            let xb = tensor_f64(&x, [b, c, l], &dev).unwrap().require_grad();
            let ya = renorm.forward(xa.clone()).unwrap();
            let yb = bn.forward(xb.clone()).unwrap();
            let ga = xa.grad(&(ya.clone() * up.clone()).sum().backward()).unwrap();
            let gb = xb.grad(&(yb.clone() * up.clone()).sum().backward()).unwrap();
            for (p, q) in [(ya, yb), (ga, gb)] {
                let (p, q) = (to_vec_f64(&p).unwrap(), to_vec_f64(&q).unwrap());
                prop_assert!(p.iter().zip(&q).all(|(a, b)| (a - b).abs() <= 1e-12 * (1.0 + b.abs())));
            }
            for (p, q) in [(renorm.running_mean(), bn.running_mean()), (renorm.running_var(), bn.running_var())] {
                let (p, q) = (to_vec_f64(&p).unwrap(), to_vec_f64(&q).unwrap());
                prop_assert!(p.iter().zip(&q).all(|(a, b)| (a - b).abs() <= 1e-12 * (1.0 + b.abs())));
            }
        }
        prop_assert_eq!(renorm.steps().unwrap(), 2);
        // Inference uses the running statistics in both.
        let x = tensor_f64(&values(b * c * l, seed + 99), [b, c, l], &dev.clone().without_autodiff()).unwrap();
        let p = to_vec_f64(&renorm.valid().forward(x.clone()).unwrap()).unwrap();
        let q = to_vec_f64(&bn.valid().forward(x).unwrap()).unwrap();
        prop_assert!(p.iter().zip(&q).all(|(a, b)| (a - b).abs() <= 1e-12 * (1.0 + b.abs())));
    }
}

#[test]
fn ws_conv2d_convolves_with_the_standardized_weight() {
    let dev = ad().without_autodiff();
    let p = kiln_norm::WsConv2dParams::new(2, 3)
        .bias(false)
        .check()
        .unwrap();
    let w = tensor_f64(&values(3 * 2 * 9, 30), [3, 2, 3, 3], &dev).unwrap();
    let layer = kiln_norm::WsConv2d::new(&p, &dev).with_weight(w.clone());
    let x = tensor_f64(&values(2 * 2 * 4 * 4, 31), [2, 2, 4, 4], &dev).unwrap();
    let got = to_vec_f64(&layer.forward(x.clone()).unwrap()).unwrap();
    let want = to_vec_f64(&conv2d(
        x,
        standardize_weight(w, 1e-5),
        None,
        ConvOptions::new([1, 1], [1, 1], [1, 1], 1),
    ))
    .unwrap();
    assert!(got.iter().zip(&want).all(|(a, b)| (a - b).abs() < 1e-12));
}

#[test]
fn batchnorm_and_groupnorm_gradients() {
    let dev = ad();
    let (b, c, l) = (3, 4, 3);
    let x = values(b * c * l, 40);
    let w = values(b * c * l, 41);
    let bn = BatchNorm::with_dtype(&BatchNormParams::new(c).check().unwrap(), &dev, DType::F64);
    let f = |x: Tensor<3>| {
        (bn.forward(lift(x)).unwrap() * tensor_f64(&w, [b, c, l], &dev).unwrap()).sum()
    };
    check(
        "BatchNorm",
        grad_check(f, &x, [b, c, l], &dev, &GradCheckConfig::default()).unwrap(),
    );
    let gn = GroupNorm::with_dtype(
        &GroupNormParams::new(2, c).check().unwrap(),
        &dev,
        DType::F64,
    );
    let f =
        |x: Tensor<3>| (gn.forward(x).unwrap() * tensor_f64(&w, [b, c, l], &dev).unwrap()).sum();
    check(
        "GroupNorm",
        grad_check(f, &x, [b, c, l], &dev, &GradCheckConfig::default()).unwrap(),
    );
}
