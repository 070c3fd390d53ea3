//! proptest invariants of the accountants and calibration.

use kiln_privacy::accountant::pld_bracket;
use kiln_privacy::calibrate::{CalibrationParams, Unknown, calibrate};
use kiln_privacy::hyperparams::{FractionalOrders, RdpParams};
use kiln_privacy::rdp::RdpAccountant;
use kiln_privacy::{AccountantKind, BatchSampling, Ledger, epsilon};
use proptest::prelude::*;

fn rdp(q: f64, s: f64, n: u64) -> f64 {
    epsilon(
        AccountantKind::Rdp,
        &Ledger::steps(&BatchSampling::poisson(q), s, n).unwrap(),
        1e-5,
    )
    .unwrap()
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
            let l = Ledger::steps(&BatchSampling::poisson(q), s, n).unwrap();
            let l2 = Ledger::steps(&BatchSampling::poisson(q), s, 2 * n).unwrap();
            prop_assert!(epsilon(kind, &l, 1e-5).unwrap() <= epsilon(kind, &l2, 1e-5).unwrap() + 1e-9);
        }
    }

    #[test]
    fn calibrated_noise_meets_target_and_one_percent_less_does_not(
        q in 0.002f64..0.2, n in 10u64..3000, target in 0.3f64..8.0
    ) {
        let c = calibrate(&CalibrationParams::new(Unknown::NoiseMultiplier).accountant(AccountantKind::Rdp).sampling(BatchSampling::poisson(q)).steps(n).delta(1e-5).target_epsilon(target).tolerance(1e-4).check().unwrap()).unwrap();
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
        let c = calibrate(&CalibrationParams::new(Unknown::NoiseMultiplier).accountant(AccountantKind::Rdp).sampling(sampling).steps(steps).delta(1e-5).target_epsilon(target).tolerance(1e-4).check().unwrap()).unwrap();
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
        let l = Ledger::steps(&BatchSampling::poisson(q), s, n).unwrap();
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
    let l = Ledger::steps(&BatchSampling::poisson(0.01), 4.0, 10_000).unwrap();
    let (lo, hi) = pld_bracket(&l, 1e-5).unwrap();
    assert!(lo <= hi && hi - lo < 1e-3 * hi, "[{lo}, {hi}]");
}

#[test]
fn exact_gaussian_is_inside_the_pld_bracket() {
    // q = 1, sigma = 2, 100 steps = mu-GDP with mu = 5: exact eps 33.10373233592246 (vectors).
    let l = Ledger::steps(&BatchSampling::poisson(1.0), 2.0, 100).unwrap();
    let (lo, hi) = pld_bracket(&l, 1e-5).unwrap();
    let exact = 33.103_732_335_922_46;
    assert!(lo <= exact && exact <= hi, "[{lo}, {hi}] vs {exact}");
}

#[test]
fn abadi_setting_side_by_side() {
    // Abadi et al. 2016: q = 0.01, sigma = 4, 1e4 steps, delta 1e-5; the paper reports 1.26
    // (moments accountant) and 9.34 (strong composition).
    let l = Ledger::steps(&BatchSampling::poisson(0.01), 4.0, 10_000).unwrap();
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
        let ledger = Ledger::steps(&BatchSampling::poisson(q), s, n).unwrap();
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

#[test]
fn rate_batch_size_and_steps_calibrate_under_every_scheme() {
    use kiln_privacy::PrivacyError;
    let target = 2.0;
    let base = |u| CalibrationParams::new(u).delta(1e-5).target_epsilon(target);
    let eps = |s: &BatchSampling, sigma: f64, n: u64| {
        epsilon(
            AccountantKind::Rdp,
            &Ledger::steps(s, sigma, n).unwrap(),
            1e-5,
        )
        .unwrap()
    };
    // Largest Poisson rate: meets the target, the other end of a 1e-4 bracket does not.
    let c = calibrate(
        &base(Unknown::SamplingRate)
            .sampling(BatchSampling::poisson(0.5))
            .noise_multiplier(1.0)
            .steps(1000)
            .check()
            .unwrap(),
    )
    .unwrap();
    assert!(c.epsilon <= target && c.value == c.bracket.0);
    assert!(eps(&BatchSampling::poisson(c.bracket.1), 1.0, 1000) > target);
    assert!(c.bracket.1 / c.bracket.0 - 1.0 <= 1e-4);
    // Largest fixed batch size, without and with replacement (sigma 3: the coarse
    // with-replacement bound already exceeds epsilon 2 at one draw per step with sigma 1):
    // exact integers.
    for replace in [false, true] {
        let with = |m| {
            if replace {
                BatchSampling::WithReplacement {
                    dataset_size: 10_000,
                    batch_size: m,
                }
            } else {
                BatchSampling::WithoutReplacement {
                    dataset_size: 10_000,
                    batch_size: m,
                }
            }
        };
        let c = calibrate(
            &base(Unknown::SamplingRate)
                .sampling(with(1))
                .noise_multiplier(3.0)
                .steps(1000)
                .check()
                .unwrap(),
        )
        .unwrap();
        let m = c.value as u64;
        assert_eq!(c.value, m as f64);
        assert!(eps(&with(m), 3.0, 1000) <= target, "{replace}");
        assert!(eps(&with(m + 1), 3.0, 1000) > target, "{replace}");
        // Most steps at that batch size.
        let c = calibrate(
            &base(Unknown::Steps)
                .sampling(with(m))
                .noise_multiplier(3.0)
                .check()
                .unwrap(),
        )
        .unwrap();
        let n = c.value as u64;
        assert!(n >= 1000 && eps(&with(m), 3.0, n) <= target);
        assert!(eps(&with(m), 3.0, n + 1) > target);
    }
    // Rules checked once, in check().
    let p = BatchSampling::poisson(0.01);
    let bad = [
        base(Unknown::NoiseMultiplier)
            .sampling(p)
            .steps(10)
            .accountant(AccountantKind::Basic),
        base(Unknown::NoiseMultiplier).sampling(p),
        base(Unknown::NoiseMultiplier)
            .sampling(p)
            .steps(10)
            .noise_multiplier(1.0),
        base(Unknown::Steps).sampling(p),
        base(Unknown::Steps).noise_multiplier(1.0),
        base(Unknown::Steps)
            .sampling(p)
            .noise_multiplier(1.0)
            .tolerance(0.7),
    ];
    for b in bad {
        assert!(b.clone().check().is_err(), "{b:?}");
    }
    assert!(matches!(
        base(Unknown::NoiseMultiplier)
            .sampling(p)
            .steps(10)
            .accountant(AccountantKind::Advanced)
            .check(),
        Err(PrivacyError::Unsupported { .. })
    ));
}
