//! DP-SGD on Burn: clipping, noise, ghost-norm path, typed errors.

use kiln_core::burn::optim::SgdConfig;
use kiln_core::burn::tensor::Device;
use kiln_core::{Autodiff, BackendKind, KilnError, Precision, device};
use kiln_privacy::PrivacyError;
use kiln_privacy::dpsgd::{ClippedSum, DpSgd, DpSgdParams, clipped_sum_microbatch};
use kiln_privacy::ghost::{Mlp, batch_tensor, clipped_sum_ghost, cross_entropy_sum};

fn dev() -> Device {
    device(BackendKind::Flex, Autodiff::On, Precision::F32).unwrap()
}

fn data(n: usize, d: usize) -> (Vec<f32>, Vec<usize>) {
    let x: Vec<f32> = (0..n * d)
        .map(|i| ((i * 37 % 101) as f32 / 50.0) - 1.0)
        .collect();
    let y: Vec<usize> = (0..n).map(|i| i % 3).collect();
    (x, y)
}

fn microbatch(
    model: &Mlp,
    x: &[f32],
    y: &[usize],
    d: usize,
    clip: f64,
    dev: &Device,
) -> ClippedSum {
    let batch: Vec<usize> = (0..y.len()).collect();
    clipped_sum_microbatch(model, &batch, clip, |m: &Mlp, i| {
        let xi = batch_tensor(&x[i * d..(i + 1) * d], 1, d, dev).map_err(KilnError::from)?;
        cross_entropy_sum(m.forward(xi), &y[i..i + 1], dev).map_err(KilnError::from)
    })
    .unwrap()
}

#[test]
fn ghost_norm_path_equals_microbatch_path_and_clips() {
    let dev = dev();
    dev.seed(3);
    let d = 5;
    let model = Mlp::new(&[d, 7, 3], &dev).unwrap();
    let (x, y) = data(12, d);
    for clip in [0.05, 1.0, 100.0] {
        let slow = microbatch(&model, &x, &y, d, clip, &dev);
        let fast = clipped_sum_ghost(&model, &x, &y, clip, &dev).unwrap();
        assert_eq!(slow.norms.len(), fast.norms.len());
        for (a, b) in slow.norms.iter().zip(&fast.norms) {
            assert!((a - b).abs() <= 1e-4 * a.max(1e-3), "norm {a} vs {b}");
        }
        for n in slow.clipped_norms.iter().chain(&fast.clipped_norms) {
            assert!(*n <= clip + 1e-6, "clipped norm {n} > {clip}");
        }
        assert_eq!(slow.sums.len(), fast.sums.len());
        for (id, s) in &slow.sums {
            let f = &fast.sums[id];
            let scale = s.iter().map(|v| v.abs()).fold(1e-6, f64::max);
            assert_eq!(s.len(), f.len());
            for (a, b) in s.iter().zip(f) {
                assert!((a - b).abs() <= 1e-4 * scale, "sum {a} vs {b}");
            }
        }
    }
}

#[test]
fn noise_has_the_promised_variance() {
    let dev = dev();
    let model = Mlp::new(&[100, 100], &dev).unwrap(); // 10100 coordinates
    let (c, sigma, q, n) = (0.5, 2.0, 0.1, 1000);
    let params = DpSgdParams::new()
        .clip_norm(c)
        .noise_multiplier(sigma)
        .sampling_rate(q)
        .seed(7)
        .check()
        .unwrap();
    let mut opt = DpSgd::new(params, SgdConfig::new().init());
    let grads = opt
        .noisy_gradients(&model, &ClippedSum::default(), n)
        .unwrap();
    let vals: Vec<f64> = kiln_privacy::dpsgd::read_grads(&model, &grads)
        .unwrap()
        .into_iter()
        .flat_map(|(_, v)| v)
        .map(|v| v * q * n as f64) // undo the division by the expected batch size
        .collect();
    assert_eq!(vals.len(), 10_100);
    let m = vals.len() as f64;
    let mean = vals.iter().sum::<f64>() / m;
    let var = vals.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (m - 1.0);
    let want = (sigma * c) * (sigma * c);
    // Sample variance of m normals has relative sd sqrt(2/m) = 1.4%: allow 4 sd.
    assert!(
        (var / want - 1.0).abs() < 4.0 * (2.0 / m).sqrt(),
        "var {var} want {want}"
    );
    assert!(mean.abs() < 4.0 * (want / m).sqrt(), "mean {mean}");
}

#[test]
fn a_step_updates_model_and_ledger() {
    let dev = dev();
    dev.seed(1);
    let d = 4;
    let (x, y) = data(50, d);
    let mut model = Mlp::new(&[d, 3], &dev).unwrap();
    let before = kiln_core::convert::to_vec_f64(&model.layers[0].weight.val()).unwrap();
    let params = DpSgdParams::new()
        .clip_norm(1.0)
        .noise_multiplier(1.0)
        .sampling_rate(0.2)
        .seed(2)
        .check()
        .unwrap();
    let mut opt = DpSgd::new(params, SgdConfig::new().init());
    for _ in 0..3 {
        let (m, info) = opt
            .step(model, 0.1, 50, |m: &Mlp, i| {
                let xi =
                    batch_tensor(&x[i * d..(i + 1) * d], 1, d, &dev).map_err(KilnError::from)?;
                cross_entropy_sum(m.forward(xi), &y[i..i + 1], &dev).map_err(KilnError::from)
            })
            .unwrap();
        assert!(info.batch_size <= 50);
        model = m;
    }
    let after = kiln_core::convert::to_vec_f64(&model.layers[0].weight.val()).unwrap();
    assert_ne!(before, after);
    assert_eq!(opt.ledger().total_count(), 3);
    let eps = opt.epsilon().unwrap();
    assert!(eps > 0.0 && eps.is_finite());
    // The ledger round-trips through JSON, so a run can resume.
    let back = kiln_privacy::Ledger::from_json(&opt.ledger().to_json()).unwrap();
    assert_eq!(&back, opt.ledger());
}

#[test]
fn typed_errors_for_bad_settings_and_gradients() {
    let bad = [
        DpSgdParams::new()
            .clip_norm(1.0)
            .noise_multiplier(0.0)
            .sampling_rate(0.1),
        DpSgdParams::new()
            .clip_norm(1.0)
            .noise_multiplier(-1.0)
            .sampling_rate(0.1),
        DpSgdParams::new()
            .clip_norm(1.0)
            .noise_multiplier(1.0)
            .sampling_rate(0.0),
        DpSgdParams::new()
            .clip_norm(1.0)
            .noise_multiplier(1.0)
            .sampling_rate(1.5),
        DpSgdParams::new()
            .clip_norm(0.0)
            .noise_multiplier(1.0)
            .sampling_rate(0.1),
        DpSgdParams::new()
            .clip_norm(1.0)
            .noise_multiplier(1.0)
            .sampling_rate(0.1)
            .delta(1.0),
        DpSgdParams::new()
            .clip_norm(1.0)
            .noise_multiplier(1.0)
            .sampling_rate(0.1)
            .delta(0.0),
        // A noise multiplier or a sampling rate left out is an error, not a default.
        DpSgdParams::new().clip_norm(1.0).sampling_rate(0.1),
        DpSgdParams::new().clip_norm(1.0).noise_multiplier(1.0),
    ];
    for p in bad {
        assert!(
            matches!(
                p.clone().check(),
                Err(PrivacyError::Core(KilnError::InvalidParameter { .. }))
            ),
            "{p:?}"
        );
    }
    let mut s = ClippedSum::default();
    let dev = dev();
    let model = Mlp::new(&[2, 2], &dev).unwrap();
    let id = model.layers[0].weight.id;
    let e = s
        .add_example(vec![(id, vec![1.0, f64::NAN])], 1.0)
        .unwrap_err();
    assert!(matches!(e, PrivacyError::Core(KilnError::NonFinite { .. })));
}
