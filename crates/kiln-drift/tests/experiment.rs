//! The seed experiment's `--quick` run and the training-loop hooks (Burn).

use kiln_core::ExperimentConfig;
use kiln_drift::experiment;

#[test]
fn quick_run_reports_every_strategy() {
    let config = ExperimentConfig::default();
    let r = experiment::run(&config).unwrap();
    assert_eq!(r.name, experiment::NAME);
    for key in ["no_adaptation", "periodic", "drift_triggered"] {
        let acc = r.get(&format!("{key}_accuracy")).unwrap();
        assert!((0.0..=1.0).contains(&acc), "{key}: {acc}");
        assert!(r.get(&format!("{key}_optimizer_steps")).unwrap() > 0.0);
    }
    // Adapting beats not adapting after the first change, and the trigger spends less
    // compute than periodic retraining.
    let after = |k: &str| r.get(&format!("{k}_accuracy_after_change_1")).unwrap();
    assert!(
        after("drift_triggered") > after("no_adaptation") + 0.05,
        "{r:?}"
    );
    assert!(
        r.get("drift_triggered_optimizer_steps").unwrap()
            < r.get("periodic_optimizer_steps").unwrap()
    );
    // The triggered strategy's monitor catches both changes, with no false alarm; on the
    // frozen model's loss the first change shows (the second barely moves an already-wrong
    // model's loss).
    for j in [1, 2] {
        let d = r
            .get(&format!("drift_triggered_detection_delay_{j}"))
            .unwrap();
        assert!((0.0..50.0).contains(&d), "change {j}: delay {d}");
    }
    assert_eq!(r.get("drift_triggered_false_alarms"), Some(0.0));
    assert!((0.0..50.0).contains(&r.get("no_adaptation_detection_delay_1").unwrap()));
    assert_eq!(r.figures.len(), 3);
    assert!(r.notes.iter().any(|n| n.contains("--quick")));
    let again = experiment::run(&config).unwrap();
    assert_eq!(r.metrics, again.metrics, "seeded run must be reproducible");
}
