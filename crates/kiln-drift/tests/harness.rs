//! The harness on a test-sized run: generators are seeded and shaped as documented, metrics are
//! counted right, and the targets hold for the detectors that carry them.

use kiln_drift::DetectorKind;
use kiln_drift::harness::{BenchConfig, Contender, Scenario, bench, evaluate};

fn cfg(seeds: u64) -> BenchConfig {
    BenchConfig {
        seeds,
        stationary_seeds: 2,
        stationary_len: 100_000,
        base_seed: 1000,
    }
}

#[test]
fn generators_are_seeded_and_shaped() {
    for s in Scenario::ALL {
        let (a, ca) = s.generate(5, 1000, false);
        let (b, cb) = s.generate(5, 1000, false);
        let (c, _) = s.generate(6, 1000, false);
        assert_eq!(a, b, "{}", s.name());
        assert_eq!(ca, cb);
        assert_ne!(a, c, "{}", s.name());
        assert!(a.iter().all(|x| x.is_finite()));
        assert!(ca.iter().all(|&i| i < a.len()));
    }
    let (xs, ch) = Scenario::Abrupt.generate(1, 0, false);
    let mean = |v: &[f64]| v.iter().sum::<f64>() / v.len() as f64;
    assert!((mean(&xs[..ch[0]]) - 0.0).abs() < 0.15);
    assert!((mean(&xs[ch[0]..]) - 1.0).abs() < 0.15);
    let (xs, _) = Scenario::ErrorRate.generate(1, 0, false);
    assert!(xs.iter().all(|&x| x == 0.0 || x == 1.0));
    let (xs, ch) = Scenario::LossJump.generate(1, 0, false);
    assert!((1000..2000).contains(&ch[0]));
    assert!(
        xs[ch[0]..ch[0] + 50].iter().sum::<f64>()
            > xs[ch[0] - 50..ch[0]].iter().sum::<f64>() + 10.0
    );
}

#[test]
fn do_nothing_misses_everything_and_never_false_alarms() {
    let r = evaluate(&Contender::do_nothing(), Scenario::Recurring, &cfg(3)).unwrap();
    assert_eq!((r.detected, r.missed, r.mean_delay), (0, 9, None));
    assert_eq!(r.false_alarms_per_1e5, 0.0);
}

/// The targets, on 30 seeds (the README's numbers use 100: `kiln drift bench`).
#[test]
fn targets_hold_on_a_test_sized_run() {
    let c = cfg(30);
    let cusum = Contender::defaults(DetectorKind::Cusum);
    let abrupt = evaluate(&cusum, Scenario::Abrupt, &c).unwrap();
    assert_eq!((abrupt.missed, abrupt.runs_with_false_alarm), (0, 0));
    assert!(abrupt.mean_delay.unwrap() <= 51.0, "{abrupt:?}");
    let errors = evaluate(&cusum, Scenario::ErrorRate, &c).unwrap();
    assert_eq!((errors.missed, errors.runs_with_false_alarm), (0, 0));
    assert!(errors.mean_delay.unwrap() <= 50.0, "{errors:?}");
    let stationary = evaluate(&cusum, Scenario::Stationary, &c).unwrap();
    assert!(stationary.false_alarms_per_1e5 < 1.0, "{stationary:?}");
    let lm = Contender::defaults(DetectorKind::LossMonitor);
    let loss = evaluate(&lm, Scenario::LossJump, &c).unwrap();
    assert_eq!((loss.missed, loss.runs_with_false_alarm), (0, 0));
    assert!(loss.mean_delay.unwrap() <= 60.0, "{loss:?}");
}

#[test]
fn bench_reports_every_row_and_target() {
    let report = bench(&BenchConfig {
        seeds: 2,
        stationary_seeds: 1,
        stationary_len: 5000,
        base_seed: 0,
    })
    .unwrap();
    // 7 real-valued scenarios x 8 contenders (do-nothing, 6 general detectors, trailing-fit
    // monitor) + 2 binary-capable scenarios x 4 binary detectors.
    assert_eq!(report.rows.len(), 6 * 8 + 2 * 12);
    assert_eq!(report.targets.len(), 4);
    assert!(report.row("do-nothing", Scenario::Abrupt).is_some());
    assert!(
        bench(&BenchConfig {
            seeds: 0,
            ..BenchConfig::default()
        })
        .is_err()
    );
}
