//! The same small computations on every compiled backend (flex always; ndarray and wgpu with
//! `--features ndarray,wgpu`, as `cargo xtask backends` runs them) agree with a host f64
//! reference to 1e-4 relative (f32 arithmetic).

use kiln_core::{Autodiff, BackendKind, GradCheckConfig, Precision, convert, device, grad_check};

const TOL: f64 = 1e-4;

fn inputs() -> (Vec<f64>, Vec<f64>) {
    // X: 4x3, W: 3x2, fixed and irregular.
    let x = (0..12).map(|i| ((i * 7 % 11) as f64 - 5.0) / 4.0).collect();
    let w = (0..6).map(|i| ((i * 5 % 7) as f64 - 3.0) / 5.0).collect();
    (x, w)
}

/// Host reference: loss = sum(tanh(X W)^2), dloss/dW = X^T (2 t (1 - t^2)).
fn reference(x: &[f64], w: &[f64]) -> (Vec<f64>, f64, Vec<f64>) {
    let mut t = vec![0.0; 8];
    for i in 0..4 {
        for j in 0..2 {
            t[i * 2 + j] = (0..3)
                .map(|k| x[i * 3 + k] * w[k * 2 + j])
                .sum::<f64>()
                .tanh();
        }
    }
    let loss = t.iter().map(|v| v * v).sum();
    let mut g = vec![0.0; 6];
    for k in 0..3 {
        for j in 0..2 {
            g[k * 2 + j] = (0..4)
                .map(|i| {
                    let ti = t[i * 2 + j];
                    x[i * 3 + k] * 2.0 * ti * (1.0 - ti * ti)
                })
                .sum();
        }
    }
    (t, loss, g)
}

fn close(a: &[f64], b: &[f64], what: &str, kind: BackendKind) {
    assert_eq!(a.len(), b.len());
    for (i, (x, y)) in a.iter().zip(b).enumerate() {
        let rel = (x - y).abs() / y.abs().max(1.0);
        assert!(
            rel <= TOL,
            "{kind}: {what}[{i}] = {x}, reference {y} (rel {rel:.2e})"
        );
    }
}

#[test]
fn forward_and_gradient_agree_with_host_reference_on_every_compiled_backend() {
    let (x, w) = inputs();
    let (t_ref, loss_ref, g_ref) = reference(&x, &w);
    let compiled = BackendKind::compiled();
    assert!(compiled.contains(&BackendKind::Flex));
    for kind in compiled {
        let dev = device(kind, Autodiff::On, Precision::F32)
            .unwrap_or_else(|e| panic!("{kind} failed to start: {e}"));
        let xf: Vec<f32> = x.iter().map(|&v| v as f32).collect();
        let wf: Vec<f32> = w.iter().map(|&v| v as f32).collect();
        let xt = convert::tensor_f32(&xf, [4, 3], &dev).unwrap();
        let wt = convert::tensor_f32(&wf, [3, 2], &dev)
            .unwrap()
            .require_grad();
        let t = xt.matmul(wt.clone()).tanh();
        close(&convert::to_vec_f64(&t).unwrap(), &t_ref, "tanh(XW)", kind);
        let loss = (t.clone() * t).sum();
        close(
            &[convert::scalar_f64(&loss).unwrap()],
            &[loss_ref],
            "loss",
            kind,
        );
        let g = wt.grad(&loss.backward()).expect("W reaches the loss");
        close(&convert::to_vec_f64(&g).unwrap(), &g_ref, "dloss/dW", kind);
        eprintln!("{kind}: forward, loss and gradient match the host reference");
    }
}

#[test]
fn grad_check_in_f64_on_every_backend_that_has_f64() {
    let (x, w) = inputs();
    for kind in BackendKind::compiled() {
        let dev = device(kind, Autodiff::Off, Precision::F32).unwrap();
        if !dev.supports_dtype(burn_float64()) {
            eprintln!("{kind}: no f64 arithmetic on this device, grad check skipped");
            continue;
        }
        // lavapipe (Mesa's software Vulkan) accepts f64 buffers, but its f64 tanh was measured
        // here to be wrong (off by 0.92 at these points), so a finite-difference check on it
        // would only measure that.
        // Probe the device instead of trusting its dtype flag, and say what was found.
        let probe_err = kiln_core::f64_math_error(&dev).unwrap();
        if probe_err > kiln_core::backend::F64_PROBE_TOLERANCE {
            eprintln!(
                "{kind}: f64 tensors accepted but f64 math is off by {probe_err:.1e}; \
                 finite-difference grad check skipped"
            );
            assert!(kind != BackendKind::Flex, "flex must compute f64 exactly");
            // kiln-core must refuse such a device for f64 work instead of handing it out.
            assert!(matches!(
                device(kind, Autodiff::Off, Precision::F64),
                Err(kiln_core::KilnError::UnsupportedBackend { .. })
            ));
            continue;
        }
        let xt = convert::tensor_f64(&x, [4, 3], &dev).unwrap();
        let report = grad_check(
            |wt| {
                let t = xt.clone().to_device_like(&wt).matmul(wt).tanh();
                (t.clone() * t).sum()
            },
            &w,
            [3, 2],
            &dev,
            &GradCheckConfig::default(),
        )
        .unwrap();
        assert!(report.passed, "{kind}: {report}");
    }
}

fn burn_float64() -> kiln_core::burn::tensor::FloatDType {
    kiln_core::burn::tensor::FloatDType::F64
}

/// Moves a constant onto the (autodiff or plain) device of the tensor it meets.
trait ToDeviceLike {
    fn to_device_like(self, other: &kiln_core::burn::tensor::Tensor<2>) -> Self;
}

impl ToDeviceLike for kiln_core::burn::tensor::Tensor<2> {
    fn to_device_like(self, other: &kiln_core::burn::tensor::Tensor<2>) -> Self {
        self.to_device(&other.device())
    }
}

/// kiln-ctc's two loss paths — host recursions plugged into autodiff (`forward`, the CPU path)
/// and Burn's own `CTCLoss` op (`forward_burn`, the GPU path) — agree in value and in gradient
/// w.r.t. the logits on every compiled backend.
#[test]
fn ctc_host_and_burn_paths_agree_on_every_compiled_backend() {
    use kiln::ctc::{CtcLoss, CtcLossParams, InputKind, Reduction, Targets};
    let (t, n, c) = (12, 3, 5);
    let logits: Vec<f64> = (0..t * n * c)
        .map(|i| 2.0 * (i as f64 * 0.7137).sin())
        .collect();
    // Irrational steps: no exact ties inside log-sum-exp, where Burn's op is known to split the
    // gradient differently from PyTorch (see kiln-ctc's README).
    // Sample 2 has a repeated label (needs a blank between) and a shorter input.
    let targets = Targets::from_sequences(&[vec![1, 2, 3], vec![4, 4], vec![2, 1, 2, 3]]);
    let lengths = [12_i64, 12, 10];
    for kind in BackendKind::compiled() {
        let dev = device(kind, Autodiff::On, Precision::F32).unwrap();
        let mut values = Vec::new();
        let mut grads = Vec::new();
        for burn_path in [false, true] {
            let loss = CtcLoss::new(
                CtcLossParams::new()
                    .input(InputKind::Logits)
                    .reduction(Reduction::Mean)
                    .check()
                    .unwrap(),
            );
            let x = convert::tensor_f32(
                &logits.iter().map(|&v| v as f32).collect::<Vec<_>>(),
                [t, n, c],
                &dev,
            )
            .unwrap()
            .require_grad();
            let out = if burn_path {
                loss.forward_burn(x.clone(), &targets, &lengths).unwrap()
            } else {
                loss.forward(x.clone(), &targets, &lengths).unwrap()
            };
            values.push(convert::to_vec_f64(&out).unwrap());
            let g = x.grad(&out.backward()).expect("logits reach the loss");
            grads.push(convert::to_vec_f64(&g).unwrap());
        }
        close(&values[1], &values[0], "ctc loss (burn vs kiln)", kind);
        close(
            &grads[1],
            &grads[0],
            "ctc dloss/dlogits (burn vs kiln)",
            kind,
        );
        eprintln!("{kind}: ctc loss {:?} and its gradient agree", values[0]);
    }
}
