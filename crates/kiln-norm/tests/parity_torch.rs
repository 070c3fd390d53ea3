//! Parity with PyTorch 2.15 (float64): BatchNorm2d over three training steps at B = 2 and B = 1
//! (outputs, gradients, running statistics in both variance conventions, eval output) and
//! GroupNorm with groups 1, 2, 4 at B = 1, 2 (outputs and gradients), to 1e-6 relative.

use kiln_core::burn::module::Module;
use kiln_core::burn::tensor::{DType, Device, Tensor};
use kiln_core::convert::{tensor_f32, tensor_f64, to_vec_f64};
use kiln_core::{Autodiff, BackendKind, Precision, device};
use kiln_norm::convention::convert_running_var;
use kiln_norm::{
    BatchNorm, BatchNormParams, GroupNorm, GroupNormParams, NormError, RunningVarParams,
    VarianceConvention,
};
use serde_json::Value;

fn data() -> Value {
    let text = include_str!("data/norm_torch.json");
    serde_json::from_str(text).unwrap()
}

fn f64s(v: &Value) -> Vec<f64> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_f64().unwrap())
        .collect()
}

fn usizes(v: &Value) -> Vec<usize> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_u64().unwrap() as usize)
        .collect()
}

/// `|a - b| <= 1e-6 |b| + 1e-10` for every entry.
fn assert_close(what: &str, got: &[f64], want: &[f64]) {
    assert_eq!(got.len(), want.len(), "{what}: length");
    for (i, (g, w)) in got.iter().zip(want).enumerate() {
        assert!(
            (g - w).abs() <= 1e-6 * w.abs() + 1e-10,
            "{what}[{i}]: kiln {g:.12e} vs torch {w:.12e}"
        );
    }
}

fn ad() -> Device {
    device(BackendKind::Flex, Autodiff::On, Precision::F32).unwrap()
}

fn t1(v: &[f64], dev: &Device) -> Tensor<1> {
    tensor_f64(v, [v.len()], dev).unwrap()
}

fn bn_case(case: &Value, convention: VarianceConvention) -> BatchNorm {
    let dev = ad();
    let params = BatchNormParams::new(3)
        .epsilon(case["eps"].as_f64().unwrap())
        .momentum(case["momentum"].as_f64().unwrap())
        .convention(convention)
        .check()
        .unwrap();
    BatchNorm::with_dtype(&params, &dev, DType::F64)
        .with_affine(
            t1(&f64s(&case["gamma"]), &dev),
            t1(&f64s(&case["beta"]), &dev),
        )
        .unwrap()
}

fn check_batchnorm(key: &str) {
    let all = data();
    let case = &all["batchnorm2d"][key];
    let dev = ad();
    let shape: [usize; 4] = usizes(&case["shape"]).try_into().unwrap();
    let w = tensor_f64(&f64s(&case["upstream_grad_w"]), shape, &dev).unwrap();
    let unbiased = bn_case(case, VarianceConvention::Unbiased);
    let biased = bn_case(case, VarianceConvention::Biased);
    let steps = case["steps"].as_array().unwrap();
    for (k, step) in steps.iter().enumerate() {
        let x = tensor_f64(&f64s(&step["x"]), shape, &dev)
            .unwrap()
            .require_grad();
        let out = unbiased.forward(x.clone()).unwrap();
        assert_eq!(out.dtype(), DType::F64);
        let grads = (out.clone() * w.clone()).sum().backward();
        let at = |s: &str| format!("{key} step {k} {s}");
        assert_close(
            &at("out"),
            &to_vec_f64(&out).unwrap(),
            &f64s(&step["out_train"]),
        );
        let gx = x.grad(&grads).unwrap();
        assert_close(
            &at("grad_x"),
            &to_vec_f64(&gx).unwrap(),
            &f64s(&step["grad_x"]),
        );
        let gg = unbiased.gamma().grad(&grads).unwrap();
        assert_close(
            &at("grad_gamma"),
            &to_vec_f64(&gg).unwrap(),
            &f64s(&step["grad_gamma"]),
        );
        let gb = unbiased.beta().grad(&grads).unwrap();
        assert_close(
            &at("grad_beta"),
            &to_vec_f64(&gb).unwrap(),
            &f64s(&step["grad_beta"]),
        );
        let rm = to_vec_f64(&unbiased.running_mean()).unwrap();
        assert_close(&at("running_mean"), &rm, &f64s(&step["running_mean"]));
        let rv = to_vec_f64(&unbiased.running_var()).unwrap();
        let want_unbiased = f64s(&step["running_var_torch_unbiased"]);
        assert_close(&at("running_var (unbiased)"), &rv, &want_unbiased);

        // Burn's convention: same outputs, biased running variance.
        let out_b = biased.forward(x.clone().detach().require_grad()).unwrap();
        assert_close(
            &at("out (biased layer)"),
            &to_vec_f64(&out_b).unwrap(),
            &f64s(&step["out_train"]),
        );
        let rv_b = to_vec_f64(&biased.running_var()).unwrap();
        let want_biased = f64s(&step["running_var_if_biased_update(burn)"]);
        assert_close(&at("running_var (biased)"), &rv_b, &want_biased);

        // The exact conversion between the two, knowing the step count.
        let n = shape[0] * shape[2] * shape[3];
        let conv = RunningVarParams::new(n)
            .momentum(case["momentum"].as_f64().unwrap())
            .steps(k as u64 + 1)
            .check()
            .unwrap();
        let to_b = convert_running_var(
            &want_unbiased,
            VarianceConvention::Unbiased,
            VarianceConvention::Biased,
            &conv,
        )
        .unwrap();
        assert_close(&at("converted to biased"), &to_b, &want_biased);
        let to_u = convert_running_var(
            &want_biased,
            VarianceConvention::Biased,
            VarianceConvention::Unbiased,
            &conv,
        )
        .unwrap();
        assert_close(&at("converted to unbiased"), &to_u, &want_unbiased);
    }
    assert_eq!(
        case["num_batches_tracked"].as_u64(),
        Some(steps.len() as u64)
    );

    // Inference with the running statistics on the last input.
    let plain = dev.clone().without_autodiff();
    let last = f64s(&steps.last().unwrap()["x"]);
    let eval = unbiased.valid();
    assert!(!eval.is_training_enabled());
    let out = eval
        .forward(tensor_f64(&last, shape, &plain).unwrap())
        .unwrap();
    assert_close(
        &format!("{key} eval"),
        &to_vec_f64(&out).unwrap(),
        &f64s(&case["out_eval_on_last_x"]),
    );
}

#[test]
fn batchnorm2d_three_steps_batch_2() {
    check_batchnorm("B2");
}

#[test]
fn batchnorm2d_three_steps_batch_1() {
    check_batchnorm("B1");
}

#[test]
fn burn_batchnorm_keeps_the_biased_variance() {
    // The reason for kiln's layer: Burn's own nn::BatchNorm tracks the biased variance.
    let all = data();
    let case = &all["batchnorm2d"]["B2"];
    let dev = ad();
    let shape: [usize; 4] = usizes(&case["shape"]).try_into().unwrap();
    let layer = bn_case(case, VarianceConvention::Biased).into_burn();
    for step in case["steps"].as_array().unwrap() {
        let x = tensor_f64(&f64s(&step["x"]), shape, &dev).unwrap();
        let _ = layer.forward(x);
    }
    let last = &case["steps"][2];
    let rv = to_vec_f64(&layer.running_var.value_sync()).unwrap();
    // Burn rounds momentum to f32 (0.1 -> 0.10000000149), well inside 1e-6 here.
    assert_close(
        "burn running_var",
        &rv,
        &f64s(&last["running_var_if_biased_update(burn)"]),
    );
    let unbiased = f64s(&last["running_var_torch_unbiased"]);
    assert!(rv.iter().zip(&unbiased).all(|(a, b)| (a - b).abs() > 1e-2));
}

#[test]
fn one_value_per_channel_in_training_is_refused_like_pytorch() {
    let all = data();
    let torch_msg = all["batchnorm1d_B1_train_error"].as_str().unwrap();
    assert!(torch_msg.contains("Expected more than 1 value per channel when training"));
    let dev = ad();
    let bn = BatchNorm::new(&BatchNormParams::new(3).check().unwrap(), &dev);
    let x = tensor_f32(&[1.0, 2.0, 3.0], [1, 3], &dev).unwrap();
    let err = bn.forward(x.clone()).unwrap_err();
    assert!(
        matches!(err, NormError::SingleValuePerChannel { .. }),
        "{err}"
    );
    assert!(
        err.to_string()
            .contains("more than 1 value per channel when training")
    );
    // Inference with the running statistics is fine, as in PyTorch.
    let plain = dev.without_autodiff();
    let eval = bn.valid();
    let y = eval
        .forward(tensor_f32(&[1.0, 2.0, 3.0], [1, 3], &plain).unwrap())
        .unwrap();
    assert_eq!(y.dims(), [1, 3]);
    // A float type that differs from the layer's is an error, not a panic inside Burn.
    let err = eval
        .forward(tensor_f64(&[1.0, 2.0, 3.0], [1, 3], &plain).unwrap())
        .unwrap_err();
    assert!(matches!(err, NormError::DtypeMismatch { .. }), "{err}");
}

#[test]
fn groupnorm_groups_1_2_4_batch_1_2() {
    let all = data();
    let dev = ad();
    let cases = all["groupnorm"]["cases"].as_array().unwrap();
    assert_eq!(cases.len(), 6);
    for case in cases {
        let u = |k: &str| case[k].as_u64().unwrap() as usize;
        let (b, c, h, w, g) = (u("B"), u("C"), u("H"), u("W"), u("groups"));
        let shape = [b, c, h, w];
        let params = GroupNormParams::new(g, c)
            .epsilon(case["eps"].as_f64().unwrap())
            .check()
            .unwrap();
        let gn = GroupNorm::with_dtype(&params, &dev, DType::F64)
            .with_affine(
                t1(&f64s(&case["gamma"]), &dev),
                t1(&f64s(&case["beta"]), &dev),
            )
            .unwrap();
        let x = tensor_f64(&f64s(&case["x"]), shape, &dev)
            .unwrap()
            .require_grad();
        let wt = tensor_f64(&f64s(&case["upstream_grad_w"]), shape, &dev).unwrap();
        let out = gn.forward(x.clone()).unwrap();
        let grads = (out.clone() * wt).sum().backward();
        let at = |s: &str| format!("GN B={b} G={g} {s}");
        assert_close(&at("out"), &to_vec_f64(&out).unwrap(), &f64s(&case["out"]));
        assert_close(
            &at("grad_x"),
            &to_vec_f64(&x.grad(&grads).unwrap()).unwrap(),
            &f64s(&case["grad_x"]),
        );
        let gg = gn.gamma().unwrap().grad(&grads).unwrap();
        assert_close(
            &at("grad_gamma"),
            &to_vec_f64(&gg).unwrap(),
            &f64s(&case["grad_gamma"]),
        );
        let gb = gn.beta().unwrap().grad(&grads).unwrap();
        assert_close(
            &at("grad_beta"),
            &to_vec_f64(&gb).unwrap(),
            &f64s(&case["grad_beta"]),
        );
    }
}
