//! DP-SGD on Burn: clipping, noise, ghost-norm path, typed errors.

use kiln_core::burn::optim::SgdConfig;
use kiln_core::burn::tensor::Device;
use kiln_core::{Autodiff, BackendKind, KilnError, Precision, device};
use kiln_privacy::dpsgd::{ClippedSum, DeclaredBatch, DpSgd, DpSgdParams, clipped_sum_microbatch};
use kiln_privacy::ghost::{Mlp, batch_tensor, clipped_sum_ghost, cross_entropy_sum};
use kiln_privacy::{BatchSampling, DpEvent, PrivacyError};

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
    let params = DpSgdParams::new(n)
        .clip_norm(c)
        .noise_multiplier(sigma)
        .sampling_rate(q)
        .insecure_seed(7)
        .check()
        .unwrap();
    let mut opt = DpSgd::new(params, SgdConfig::new().init()).unwrap();
    let grads = opt.noisy_gradients(&model, &ClippedSum::default()).unwrap();
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
    // The lattice noise is larger than sigma C by its stated inflation, at most 1e-4 here.
    let want = (sigma * c) * (sigma * c);
    // Sample variance of m normals has relative sd sqrt(2/m) = 1.4%: allow 4 sd.
    assert!(
        (var / want - 1.0).abs() < 4.0 * (2.0 / m).sqrt() + 2e-4,
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
    let params = DpSgdParams::new(50)
        .noise_multiplier(1.0)
        .sampling_rate(0.2)
        .check()
        .unwrap();
    let mut opt = DpSgd::new(params, SgdConfig::new().init()).unwrap();
    for _ in 0..3 {
        let (m, info) = opt
            .step(model, 0.1, |m: &Mlp, i| {
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
    assert!(back.is_private(), "default noise is private");
}

#[test]
fn insecure_seed_is_recorded_and_repeats_exactly() {
    let dev = dev();
    let model = Mlp::new(&[6, 2], &dev).unwrap();
    let make = || {
        let p = DpSgdParams::new(100)
            .noise_multiplier(1.1)
            .sampling_rate(0.1)
            .insecure_seed(5)
            .check()
            .unwrap();
        DpSgd::new(p, SgdConfig::new().init()).unwrap()
    };
    let (mut a, mut b) = (make(), make());
    assert_eq!(a.sample_batch(), b.sample_batch());
    let read = |o: &mut DpSgd| {
        let g = o.noisy_gradients(&model, &ClippedSum::default()).unwrap();
        kiln_privacy::dpsgd::read_grads(&model, &g).unwrap()
    };
    assert_eq!(read(&mut a), read(&mut b));
    assert!(!a.ledger().is_private());
    assert!(
        a.ledger()
            .not_private_reason()
            .unwrap()
            .contains("insecure_seed")
    );
    let json: serde_json::Value = serde_json::from_str(&a.ledger().to_json()).unwrap();
    assert_eq!(json["private"], false);
    // Two default (OS-seeded) runs draw different noise.
    let secure = || {
        let p = DpSgdParams::new(100)
            .noise_multiplier(1.1)
            .sampling_rate(0.1)
            .check()
            .unwrap();
        DpSgd::new(p, SgdConfig::new().init()).unwrap()
    };
    let (mut c, mut d) = (secure(), secure());
    assert_ne!(read(&mut c), read(&mut d));
}

#[test]
fn the_ledger_records_the_declared_scheme_and_refuses_shuffling() {
    let dev = dev();
    let d = 4;
    let (x, y) = data(40, d);
    let model = Mlp::new(&[d, 3], &dev).unwrap();
    let p = DpSgdParams::new(40)
        .noise_multiplier(1.0)
        .sampling_rate(0.25)
        .insecure_seed(1)
        .check()
        .unwrap();
    let mut opt = DpSgd::new(p, SgdConfig::new().init()).unwrap();
    let sum = microbatch(&model, &x[..10 * d], &y[..10], d, 1.0, &dev);
    let wor = BatchSampling::WithoutReplacement {
        dataset_size: 40,
        batch_size: 10,
    };
    let (model, _) = opt
        .apply_declared(model, 0.1, DeclaredBatch::Sampled(wor), &sum)
        .unwrap();
    assert_eq!(
        opt.ledger().entries()[0].event,
        DpEvent::sampled_without_replacement(40, 10, 1.0).unwrap()
    );
    let shuffled = opt.apply_declared(
        model.clone(),
        0.1,
        DeclaredBatch::Shuffled { batch_size: 10 },
        &sum,
    );
    assert!(matches!(shuffled, Err(PrivacyError::Unsupported { .. })));
    let other_n = BatchSampling::WithoutReplacement {
        dataset_size: 41,
        batch_size: 10,
    };
    let changed = opt.apply_declared(model.clone(), 0.1, DeclaredBatch::Sampled(other_n), &sum);
    assert!(matches!(
        changed,
        Err(PrivacyError::DatasetSizeChanged {
            expected: 40,
            got: 41
        })
    ));
    // A Poisson batch must be the one DP-SGD sampled: its size must match the clipped sum.
    let batch = opt.sample_batch();
    let wrong = ClippedSum::default();
    if !batch.indices().is_empty() {
        assert!(opt.apply(model, 0.1, &batch, &wrong).is_err());
    }
    assert_eq!(opt.ledger().total_count(), 1);
}

#[test]
fn typed_errors_for_bad_settings_and_gradients() {
    let ok = || {
        DpSgdParams::new(100)
            .noise_multiplier(1.0)
            .sampling_rate(0.1)
    };
    let bad = [
        ok().noise_multiplier(0.0),
        ok().noise_multiplier(-1.0),
        ok().sampling_rate(0.0),
        ok().sampling_rate(1.5),
        ok().clip_norm(0.0),
        ok().delta(1.0),
        ok().delta(0.0),
        DpSgdParams::new(100).sampling_rate(0.1),
        DpSgdParams::new(100).noise_multiplier(1.0),
        DpSgdParams::new(0).noise_multiplier(1.0).sampling_rate(0.1),
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
