//! Fixed-size sampling: parity with dp_accounting 0.6's RdpAccountant (REPLACE_ONE) on
//! `tests/data/dp_accounting_extra.json`, typed refusals where no sound answer exists, and
//! proptest invariants.

use kiln_privacy::errors::PrivacyError;
use kiln_privacy::hyperparams::RdpParams;
use kiln_privacy::rdp::{RdpAccountant, event_curve};
use kiln_privacy::{AccountantKind, BatchSampling, DpEvent, Ledger, epsilon};
use proptest::prelude::*;
use serde_json::Value;

fn extra() -> Value {
    let path = format!(
        "{}/tests/data/dp_accounting_extra.json",
        env!("CARGO_MANIFEST_DIR")
    );
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn f(v: &Value, k: &str) -> f64 {
    v[k].as_f64()
        .unwrap_or_else(|| panic!("{k} missing in {v}"))
}

fn u(v: &Value, k: &str) -> u64 {
    v[k].as_u64()
        .unwrap_or_else(|| panic!("{k} missing in {v}"))
}

fn rel(a: f64, b: f64) -> f64 {
    (a - b).abs() / b.abs().max(1e-300)
}

fn wor(n: u64, m: u64, s: f64) -> DpEvent {
    DpEvent::sampled_without_replacement(n, m, s).unwrap()
}

#[test]
fn without_replacement_single_step_curves_match() {
    let v = extra();
    for c in v["wor_curves_single_step"].as_array().unwrap() {
        let orders: Vec<f64> = c["orders"]
            .as_array()
            .unwrap()
            .iter()
            .map(|x| x.as_f64().unwrap())
            .collect();
        let ev = wor(u(c, "dataset_size"), u(c, "batch_size"), f(c, "sigma"));
        let ours = event_curve(&ev, &orders);
        assert_eq!(ours.len(), orders.len());
        assert_eq!(orders.len(), c["rdp"].as_array().unwrap().len());
        for ((o, (got, _)), want) in orders.iter().zip(ours).zip(c["rdp"].as_array().unwrap()) {
            let want = want.as_f64().unwrap();
            assert!(rel(got, want) < 1e-9, "{c:.60}: order {o}: {got} vs {want}");
        }
    }
}

#[test]
fn without_replacement_epsilon_grid_matches_at_1e6() {
    let v = extra();
    let acc = RdpAccountant::new(RdpParams::new().check().unwrap());
    let grid = v["wor_grid_delta_1e_5"].as_array().unwrap();
    assert_eq!(grid.len(), 36);
    for c in grid {
        let ev = wor(u(c, "dataset_size"), u(c, "batch_size"), f(c, "sigma"));
        let l = Ledger::single(ev, u(c, "steps")).unwrap();
        let got = acc.epsilon(&l, f(c, "delta")).unwrap();
        let want = f(c, "rdp_epsilon");
        assert!(rel(got.epsilon, want) < 1e-6, "{c}: {}", got.epsilon);
        assert!(got.epsilon >= want, "rounded up: {c}");
        assert_eq!(got.order, f(c, "optimal_order"), "{c}");
        assert!(got.quadrature_orders.is_empty());
    }
    // Replace-one ledger with a plain Gaussian phase.
    let c = &v["wor_ledger"];
    let mut l = Ledger::new();
    l.record(wor(60000, 256, 1.1), 2000).unwrap();
    l.record(DpEvent::gaussian(20.0).unwrap(), 1).unwrap();
    let got = acc.epsilon(&l, f(c, "delta")).unwrap().epsilon;
    assert!(rel(got, f(c, "rdp_epsilon")) < 1e-6, "{got}");
}

#[test]
fn accountants_refuse_what_they_cannot_account_by_name() {
    let v = extra();
    // dp_accounting raises for these; kiln returns a typed error naming event and accountant.
    for k in [
        "rdp_with_replacement",
        "rdp_without_replacement_add_remove",
        "pld_without_replacement",
    ] {
        assert_eq!(v["unsupported"][k], "UnsupportedEventError", "{k}");
    }
    let l = Ledger::single(wor(1000, 10, 1.1), 10).unwrap();
    let lr = Ledger::single(
        DpEvent::sampled_with_replacement(1000, 10, 1.1).unwrap(),
        10,
    )
    .unwrap();
    for ledger in [&l, &lr] {
        for kind in [
            AccountantKind::Pld,
            AccountantKind::Basic,
            AccountantKind::Advanced,
        ] {
            match epsilon(kind, ledger, 1e-5) {
                Err(PrivacyError::Unsupported {
                    event, accountant, ..
                }) => {
                    assert!(event.starts_with("sampled_with"), "{event}");
                    assert!(!accountant.is_empty());
                }
                other => panic!("{kind}: expected Unsupported, got {other:?}"),
            }
        }
    }
    let msg = epsilon(AccountantKind::Pld, &l, 1e-5)
        .unwrap_err()
        .to_string();
    assert!(
        msg.contains("pld") && msg.contains("sampled_without_replacement_gaussian"),
        "{msg}"
    );
    // Add/remove (Poisson) and replace-one (fixed-size) phases do not compose.
    let mut mixed = l.clone();
    mixed
        .record(BatchSampling::poisson(0.01).event(1.1).unwrap(), 5)
        .unwrap();
    assert!(matches!(
        epsilon(AccountantKind::Rdp, &mixed, 1e-5),
        Err(PrivacyError::MixedNeighbouring { .. })
    ));
}

#[test]
fn with_replacement_bound_is_sound_but_coarse() {
    // Above the without-replacement answer (a tight analysis would be close to it), finite.
    for &(n, m, s, steps) in &[
        (1000, 10, 1.1, 100),
        (60000, 256, 1.1, 1000),
        (100, 50, 4.0, 10),
    ] {
        let e_wor = epsilon(
            AccountantKind::Rdp,
            &Ledger::single(wor(n, m, s), steps).unwrap(),
            1e-5,
        )
        .unwrap();
        let wr = DpEvent::sampled_with_replacement(n, m, s).unwrap();
        let e_wr = epsilon(
            AccountantKind::Rdp,
            &Ledger::single(wr, steps).unwrap(),
            1e-5,
        )
        .unwrap();
        assert!(
            e_wr.is_finite() && e_wr > e_wor,
            "{n} {m} {s}: {e_wr} vs {e_wor}"
        );
    }
}

fn rdp_eps(ev: DpEvent, steps: u64) -> f64 {
    epsilon(
        AccountantKind::Rdp,
        &Ledger::single(ev, steps).unwrap(),
        1e-5,
    )
    .unwrap()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(16))]

    #[test]
    fn fixed_size_epsilon_grows_with_steps_and_shrinks_with_sigma(
        n in 20u64..100_000, frac in 0.0005f64..0.5, s in 0.6f64..6.0, steps in 1u64..3000,
        replace in any::<bool>()
    ) {
        let m = ((frac * n as f64).round() as u64).clamp(1, n);
        let make = |s: f64| if replace {
            DpEvent::sampled_with_replacement(n, m, s).unwrap()
        } else {
            wor(n, m, s)
        };
        let e = rdp_eps(make(s), steps);
        prop_assert!(e.is_finite() && e > 0.0);
        prop_assert!(e <= rdp_eps(make(s), 2 * steps) + 1e-12);
        prop_assert!(e + 1e-12 >= rdp_eps(make(1.2 * s), steps));
        if !replace && 2 * m < n {
            // A bigger batch costs more (not up to m = n: at q = 1 the exact Gaussian is
            // below the bound at q = 0.5, whose constants are loose).
            prop_assert!(e <= rdp_eps(wor(n, 2 * m, s), steps) + 1e-12);
        }
    }
}

#[test]
fn audit_accounts_fixed_size_plans_with_rdp_and_names_the_poisson_mistake() {
    use kiln_privacy::audit::{TrainingPlan, audit};
    let (n, m, s, steps) = (60_000u64, 256u64, 1.1, 2_000u64);
    let poisson = epsilon(
        AccountantKind::Rdp,
        &Ledger::steps(&BatchSampling::poisson(m as f64 / n as f64), s, steps).unwrap(),
        1e-5,
    )
    .unwrap();
    let plan = |sampling: &str, claimed: f64| {
        TrainingPlan::from_json(&format!(
            r#"{{"dataset_size": {n}, "batch_size": {m}, "steps": {steps},
                "noise_multiplier": {s}, "sampling": "{sampling}", "delta": 1e-5,
                "claimed_epsilon": {claimed}}}"#
        ))
        .unwrap()
    };
    let r = audit(&plan("without_replacement", poisson)).unwrap();
    assert_eq!(r.recomputed_with, AccountantKind::Rdp);
    let truth = rdp_eps(wor(n, m, s), steps);
    assert_eq!(r.recomputed_epsilon, truth);
    // Replace-one costs about twice add/remove here: the Poisson claim does not hold.
    assert!(!r.claim_holds && r.factor > 1.5, "{r:?}");
    let named = r.mistakes.iter().find(|x| x.matches_claim).unwrap();
    assert_eq!(named.name, "fixed_size_accounted_as_poisson");
    assert!(
        audit(&plan("without_replacement", truth))
            .unwrap()
            .claim_holds
    );
    // Shuffling accounted as independent fixed-size batches is named too.
    let shuffle = audit(&plan("shuffle", truth)).unwrap();
    assert!(!shuffle.claim_holds);
    assert!(shuffle.mistakes.iter().any(|x| x.name
        == "shuffling_accounted_as_sampling_without_replacement"
        && x.matches_claim));
}
