//! proptest invariants of the accountants and calibration.

use kiln_privacy::accountant::pld_bracket;
use kiln_privacy::calibrate::{noise_multiplier, noise_multiplier_for};
use kiln_privacy::hyperparams::{FractionalOrders, RdpParams};
use kiln_privacy::rdp::RdpAccountant;
use kiln_privacy::{AccountantKind, BatchSampling, Ledger, epsilon};
use proptest::prelude::*;

fn rdp(q: f64, s: f64, n: u64) -> f64 {
    epsilon(AccountantKind::Rdp, &Ledger::dp_sgd(q, s, n).unwrap(), 1e-5).unwrap()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]

    #[test]
    fn epsilon_monotone_in_steps_q_and_sigma(q in 0.001f64..0.3, s in 0.6f64..6.0, n in 1u64..5000) {
        let e = rdp(q, s, n);
        prop_assert!(e <= rdp(q, s, 2 * n) + 1e-12);
        prop_assert!(e <= rdp((1.5 * q).min(1.0), s, n) + 1e-12);
        prop_assert!(e + 1e-12 >= rdp(q, 1.2 * s, n));
        for kind in [AccountantKind::Basic, AccountantKind::Advanced] {
            let l = Ledger::dp_sgd(q, s, n).unwrap();
            let l2 = Ledger::dp_sgd(q, s, 2 * n).unwrap();
            prop_assert!(epsilon(kind, &l, 1e-5).unwrap() <= epsilon(kind, &l2, 1e-5).unwrap() + 1e-9);
        }
    }

    #[test]
    fn calibrated_noise_meets_target_and_one_percent_less_does_not(
        q in 0.002f64..0.2, n in 10u64..3000, target in 0.3f64..8.0
    ) {
        let c = noise_multiplier(AccountantKind::Rdp, q, n, 1e-5, target, 1e-4).unwrap();
        prop_assert!(c.epsilon <= target);
        prop_assert!(rdp(q, c.value, n) <= target);
        prop_assert!(rdp(q, 0.99 * c.value, n) > target);
        // The bracket is exact for every order, though the search looked at a few.
        prop_assert!(rdp(q, c.bracket.0, n) > target);
        prop_assert!(c.bracket.1 / c.bracket.0 - 1.0 <= 1e-4);
    }

    #[test]
    fn calibrated_noise_for_fixed_size_batches_meets_target(
        n in 100u64..100_000, frac in 0.001f64..0.3, steps in 10u64..3000,
        target in 0.5f64..8.0, replace in any::<bool>()
    ) {
        let m = ((frac * n as f64).round() as u64).max(1);
        let sampling = if replace {
            BatchSampling::WithReplacement { dataset_size: n, batch_size: m }
        } else {
            BatchSampling::WithoutReplacement { dataset_size: n, batch_size: m }
        };
        let c = noise_multiplier_for(AccountantKind::Rdp, &sampling, steps, 1e-5, target, 1e-4)
            .unwrap();
        let e = |s: f64| {
            epsilon(AccountantKind::Rdp, &Ledger::steps(&sampling, s, steps).unwrap(), 1e-5)
                .unwrap()
        };
        prop_assert!(c.epsilon <= target && e(c.value) <= target);
        prop_assert_eq!(c.epsilon, e(c.value));
        prop_assert!(e(c.bracket.0) > target);
        prop_assert!(e(0.99 * c.value) > target);
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(8))]

    #[test]
    fn pld_brackets_and_is_tighter_than_rdp(q in 0.005f64..0.2, s in 0.8f64..4.0, n in 1u64..200) {
        let l = Ledger::dp_sgd(q, s, n).unwrap();
        let (lo, hi) = pld_bracket(&l, 1e-5).unwrap();
        prop_assert!(lo <= hi, "optimistic {lo} > pessimistic {hi}");
        // Both bound the same truth; both discretizations are O(h^2) per step (connect the
        // dots above, tangents below), so the bracket is narrow.
        prop_assert!(hi - lo <= 2e-3 * hi + 1e-4, "bracket [{lo}, {hi}] too wide");
        let r = epsilon(AccountantKind::Rdp, &l, 1e-5).unwrap();
        prop_assert!(r >= hi - 1e-3 * hi, "rdp {r} below pld {hi}");
    }
}

#[test]
fn abadi_bracket_is_tight_at_ten_thousand_steps() {
    // q 0.01, sigma 4, 1e4 steps, delta 1e-5. Rounding losses down gave [0.45, 0.95]; the
    // tangent estimate gives [0.94620, 0.94700].
    let l = Ledger::dp_sgd(0.01, 4.0, 10_000).unwrap();
    let (lo, hi) = pld_bracket(&l, 1e-5).unwrap();
    assert!(lo <= hi && hi - lo < 1e-3 * hi, "[{lo}, {hi}]");
}

#[test]
fn exact_gaussian_is_inside_the_pld_bracket() {
    // q = 1, sigma = 2, 100 steps = mu-GDP with mu = 5: exact eps 33.10373233592246 (vectors).
    let l = Ledger::dp_sgd(1.0, 2.0, 100).unwrap();
    let (lo, hi) = pld_bracket(&l, 1e-5).unwrap();
    let exact = 33.103_732_335_922_46;
    assert!(lo <= exact && exact <= hi, "[{lo}, {hi}] vs {exact}");
}

#[test]
fn abadi_setting_side_by_side() {
    // Abadi et al. 2016: q = 0.01, sigma = 4, 1e4 steps, delta 1e-5; the paper reports 1.26
    // (moments accountant) and 9.34 (strong composition).
    let l = Ledger::dp_sgd(0.01, 4.0, 10_000).unwrap();
    let e: Vec<f64> = AccountantKind::ALL
        .iter()
        .map(|k| epsilon(*k, &l, 1e-5).unwrap())
        .collect();
    let (rdp, pld, basic, adv) = (e[0], e[1], e[2], e[3]);
    assert!(pld < rdp && rdp < 1.26 && rdp > 1.0, "{e:?}");
    assert!(adv < basic && adv > 1.26, "{e:?}");
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(6))]

    /// The exact fractional-order option never exceeds dp_accounting's series and stays above
    /// the PLD optimistic epsilon, a certified lower bound on the truth.
    #[test]
    fn exact_fractional_rdp_is_between_pld_optimistic_and_series(
        q in 0.002f64..0.2, s in 0.7f64..5.0, n in 1u64..1500
    ) {
        let ledger = Ledger::dp_sgd(q, s, n).unwrap();
        let exact = RdpAccountant::new(
            RdpParams::new().fractional(FractionalOrders::Exact).check().unwrap(),
        )
        .epsilon(&ledger, 1e-5)
        .unwrap()
        .epsilon;
        prop_assert!(exact <= rdp(q, s, n) + 1e-12);
        let (lower, _) = pld_bracket(&ledger, 1e-5).unwrap();
        prop_assert!(exact >= lower, "{} < {}", exact, lower);
    }
}
