//! The PRV accountant against prv_accountant 0.2.0 and dp_accounting 0.6.0 (tests/data/), and
//! the secure noise sampler's distribution.

use kiln_privacy::noise::{LatticeNoise, NoiseSource};
use kiln_privacy::{BatchSampling, DpEvent, Ledger, PrvParams};
use serde_json::Value;

fn grid() -> Vec<Value> {
    let path = format!(
        "{}/tests/data/privacy_dp_accounting.json",
        env!("CARGO_MANIFEST_DIR")
    );
    let v: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    v["grid_delta_1e_5"].as_array().unwrap().clone()
}

fn f(v: &Value, k: &str) -> Option<f64> {
    v[k].as_f64()
}

/// Grid rows small enough for a test (the bench and the timing script cover the rest).
fn small_rows() -> Vec<Value> {
    grid()
        .into_iter()
        .filter(|r| f(r, "prv_grid_points_est").is_some_and(|n| n < 2.0e6))
        .collect()
}

#[test]
fn certified_bracket_contains_dp_accountings_pld_and_matches_prv_accountant() {
    let rows = small_rows();
    assert!(rows.len() >= 20, "only {} rows", rows.len());
    for r in &rows {
        let (q, sigma, steps) = (
            f(r, "q").unwrap(),
            f(r, "sigma").unwrap(),
            f(r, "steps").unwrap() as u64,
        );
        let ledger =
            Ledger::single(BatchSampling::poisson(q).event(sigma).unwrap(), steps).unwrap();
        // The reference run's own eps_error: same settings on both sides.
        let eps_error = f(r, "prv_eps_error").unwrap();
        let params = PrvParams::new().eps_error(eps_error).check().unwrap();
        let got = params.epsilon(&ledger, 1e-5).unwrap();
        let pld = f(r, "pld_eps").unwrap();
        // dp_accounting's PLD is pessimistic by at most its discretisation (1e-4 per step,
        // far less after composition): inside the certified bracket.
        assert!(
            got.lower <= pld && pld <= got.upper + 1e-4,
            "q {q} sigma {sigma} steps {steps}: {got:?} vs PLD {pld}"
        );
        // The estimates agree within the stated error.
        let est = f(r, "prv_eps_estimate").unwrap();
        assert!(
            (got.estimate - est).abs() <= got.eps_error,
            "q {q} sigma {sigma} steps {steps}: {} vs prv_accountant {est}",
            got.estimate
        );
        assert!(got.lower <= got.estimate && got.estimate <= got.upper);
    }
}

#[test]
fn kiln_answers_where_prv_accountant_crashed() {
    // prv_accountant 0.2.0 raised "Discrete mean differs from continuous mean significantly"
    // on these grid points (q 0.256, sigma <= 1.1, 1000 steps); kiln's bracket contains
    // dp_accounting's PLD epsilon there.
    let crashed: Vec<Value> = grid()
        .into_iter()
        .filter(|r| r["prv_error"].is_string())
        .collect();
    assert_eq!(crashed.len(), 3);
    let params = PrvParams::new().check().unwrap();
    for r in &crashed {
        let (q, sigma) = (f(r, "q").unwrap(), f(r, "sigma").unwrap());
        let steps = f(r, "steps").unwrap() as u64;
        let ledger =
            Ledger::single(BatchSampling::poisson(q).event(sigma).unwrap(), steps).unwrap();
        let got = params.epsilon(&ledger, 1e-5).unwrap();
        let pld = f(r, "pld_eps").unwrap();
        assert!(got.lower <= pld && pld <= got.upper, "{got:?} vs PLD {pld}");
    }
}

#[test]
fn abadi_setting_is_pinned_to_dp_accounting() {
    // Abadi et al. 2016: q = 0.01, sigma = 4, 10^4 steps, delta 1e-5; dp_accounting 0.6.0's
    // RDP and PLD values made by tests/data/make_abadi_vectors.py.
    use kiln_privacy::{AccountantKind, epsilon};
    let path = format!(
        "{}/tests/data/abadi_dp_accounting.json",
        env!("CARGO_MANIFEST_DIR")
    );
    let v: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let (rdp_ref, pld_ref) = (f(&v, "rdp_eps").unwrap(), f(&v, "pld_eps").unwrap());
    let ledger = Ledger::single(BatchSampling::poisson(0.01).event(4.0).unwrap(), 10_000).unwrap();
    let rdp = epsilon(AccountantKind::Rdp, &ledger, 1e-5).unwrap();
    let pld = epsilon(AccountantKind::Pld, &ledger, 1e-5).unwrap();
    assert!((rdp / rdp_ref - 1.0).abs() < 1e-6, "{rdp} vs {rdp_ref}");
    assert!((pld - pld_ref).abs() < 1e-4, "{pld} vs {pld_ref}");
    let got = PrvParams::new()
        .check()
        .unwrap()
        .epsilon(&ledger, 1e-5)
        .unwrap();
    assert!(got.lower <= pld_ref && pld_ref <= got.upper, "{got:?}");
    assert!(got.upper - got.lower < 0.03, "{got:?}");
}

#[test]
fn unsupported_events_and_bad_settings_are_typed_errors() {
    let ledger = Ledger::single(DpEvent::laplace(1.0).unwrap(), 3).unwrap();
    let p = PrvParams::new().check().unwrap();
    assert!(matches!(
        p.epsilon(&ledger, 1e-5),
        Err(kiln_privacy::PrivacyError::Unsupported { .. })
    ));
    assert!(PrvParams::new().eps_error(0.0).check().is_err());
    assert!(PrvParams::new().delta_error_ratio(1.0).check().is_err());
    let empty = Ledger::new();
    let r = p.epsilon(&empty, 1e-5).unwrap();
    assert_eq!((r.lower, r.estimate, r.upper), (0.0, 0.0, 0.0));
    let tiny = PrvParams::new().max_grid_points(100).check().unwrap();
    let ledger = Ledger::single(BatchSampling::poisson(0.01).event(1.0).unwrap(), 1000).unwrap();
    assert!(matches!(
        tiny.epsilon(&ledger, 1e-5),
        Err(kiln_privacy::PrivacyError::GridTooLarge { .. })
    ));
}

/// Kolmogorov–Smirnov distance of `xs` (sorted) to N(0, 1).
fn ks_to_normal(xs: &mut [f64]) -> f64 {
    xs.sort_by(f64::total_cmp);
    let n = xs.len() as f64;
    xs.iter()
        .enumerate()
        .map(|(i, &x)| {
            let c = 0.5 * libm::erfc(-x / std::f64::consts::SQRT_2);
            (c - i as f64 / n).abs().max((c - (i + 1) as f64 / n).abs())
        })
        .fold(0.0, f64::max)
}

#[test]
fn lattice_noise_is_gaussian_by_moments_and_ks() {
    // Seeded only through the loudly named insecure opt-in, inside the test.
    let noise = LatticeNoise::new(1.0, 1.0, 1_000_000).unwrap();
    let mut rng = NoiseSource::InsecureSeed(7).rng().unwrap();
    let zeros = vec![0.0; 1_000_000];
    let out = noise.privatize(&zeros, &mut rng).unwrap();
    let std = noise.std();
    let mut z: Vec<f64> = out.iter().map(|v| v / std).collect();
    let n = z.len() as f64;
    let mean = z.iter().sum::<f64>() / n;
    let var = z.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / n;
    let kurt = z.iter().map(|v| (v - mean).powi(4)).sum::<f64>() / n / (var * var);
    assert!(mean.abs() < 5.0 / n.sqrt(), "mean {mean}");
    assert!((var - 1.0).abs() < 5.0 * (2.0 / n).sqrt(), "var {var}");
    assert!(
        (kurt - 3.0).abs() < 5.0 * (24.0 / n).sqrt(),
        "kurtosis {kurt}"
    );
    // KS critical value at alpha = 1e-3 is 1.95 / sqrt(n).
    let d = ks_to_normal(&mut z);
    assert!(d < 1.95 / n.sqrt(), "KS distance {d}");
    // The released values are integers times gamma: no low-order bits carry the input.
    assert!(out.iter().all(|v| (v / noise.gamma()).fract() == 0.0));
    assert!(noise.effective_noise_multiplier() >= 1.0);
}

#[test]
fn default_noise_differs_between_runs_and_insecure_seed_repeats() {
    let noise = LatticeNoise::new(1.0, 1.1, 64).unwrap();
    let zeros = vec![0.0; 64];
    let a = noise
        .privatize(&zeros, &mut NoiseSource::Secure.rng().unwrap())
        .unwrap();
    let b = noise
        .privatize(&zeros, &mut NoiseSource::Secure.rng().unwrap())
        .unwrap();
    assert_ne!(a, b);
    let s = NoiseSource::InsecureSeed(3);
    assert!(!s.is_private() && s.not_private_reason().is_some());
    let c = noise.privatize(&zeros, &mut s.rng().unwrap()).unwrap();
    let d = noise.privatize(&zeros, &mut s.rng().unwrap()).unwrap();
    assert_eq!(c, d);
    assert!(NoiseSource::default().is_private());
}

#[test]
fn audit_names_one_step_epsilon_reported_for_the_run() {
    use kiln_privacy::audit::{Sampling, TrainingPlan, audit};
    use kiln_privacy::{AccountantKind, epsilon};
    // The seed's "orders of magnitude" mistake: N 60000, batch 240, 60 epochs, sigma 1.1,
    // claiming the epsilon of one step.
    let one_step = epsilon(
        AccountantKind::Pld,
        &Ledger::single(
            BatchSampling::poisson(240.0 / 60000.0).event(1.1).unwrap(),
            1,
        )
        .unwrap(),
        1e-5,
    )
    .unwrap();
    assert!((one_step - 0.0444).abs() < 5e-4, "{one_step}");
    let plan = TrainingPlan {
        dataset_size: 60_000,
        batch_size: 240,
        epochs: Some(60.0),
        steps: None,
        noise_multiplier: 1.1,
        sampling: Sampling::Poisson,
        delta: 1e-5,
        claimed_epsilon: one_step,
        accounted_with: AccountantKind::Rdp,
    };
    let report = audit(&plan.check().unwrap()).unwrap();
    assert!(!report.claim_holds);
    assert!(
        report.factor > 40.0 && report.factor < 60.0,
        "{}",
        report.factor
    );
    assert_eq!(report.mistakes[0].name, "one_step_epsilon_reported");
    assert!(report.mistakes[0].matches_claim);
    assert!(report.verdict.contains("one_step_epsilon_reported"));
    // No privacy loss is exactly zero, never a denormal nudge.
    for m in &report.mistakes {
        assert!(m.epsilon == 0.0 || m.epsilon > 1e-300, "{m:?}");
    }
}

#[test]
fn no_release_is_exactly_zero_in_every_accountant_and_pld_floor_is_typed() {
    use kiln_privacy::{AccountantKind, PrivacyError, epsilon};
    let zero = Ledger::single(BatchSampling::poisson(0.01).event(1.1).unwrap(), 0).unwrap();
    for kind in AccountantKind::ALL {
        assert_eq!(epsilon(kind, &zero, 1e-5).unwrap(), 0.0, "{kind}");
        assert_eq!(epsilon(kind, &Ledger::new(), 1e-5).unwrap(), 0.0, "{kind}");
    }
    let l = Ledger::single(BatchSampling::poisson(0.01).event(1.1).unwrap(), 100).unwrap();
    assert!(matches!(
        epsilon(AccountantKind::Pld, &l, 1e-30),
        Err(PrivacyError::NoFiniteEpsilon { .. })
    ));
    assert!(epsilon(AccountantKind::Rdp, &l, 1e-30).unwrap().is_finite());
}
