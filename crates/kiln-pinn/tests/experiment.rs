//! The seed experiment at CI size: every run of the grid (2 problems x clean/noisy x 3
//! schedules x f32/f64) reports a finite error and time, and the clean f64 Adam -> L-BFGS
//! Poisson run is accurate even at quick sizes.

use kiln_core::experiment::ExperimentConfig;

#[test]
fn quick_experiment_reports_every_run() {
    let config = ExperimentConfig {
        quick: true,
        ..ExperimentConfig::default()
    };
    let report = kiln_pinn::experiment::run(&config).unwrap();
    let mut runs = 0;
    for problem in ["poisson1d", "burgers"] {
        for data in ["clean", "noisy"] {
            for schedule in ["adam", "lbfgs", "adam_lbfgs"] {
                for precision in ["f32", "f64"] {
                    let k = format!("{problem}_{data}_{schedule}_{precision}");
                    let l2 = report.get(&format!("{k}_l2")).unwrap_or(f64::NAN);
                    let s = report.get(&format!("{k}_seconds")).unwrap_or(f64::NAN);
                    assert!(l2.is_finite() && l2 > 0.0, "{k}: L2 {l2}");
                    assert!(s.is_finite() && s >= 0.0, "{k}: {s} s");
                    runs += 1;
                }
            }
        }
    }
    assert_eq!(runs, 24);
    let best = report.get("poisson1d_clean_adam_lbfgs_f64_l2").unwrap();
    assert!(best < 1e-3, "quick Poisson Adam -> L-BFGS f64: {best:.3e}");
    assert!(!report.figures.is_empty());
}
