//! The quick seed experiment runs every cell and reports finite, complete results; the
//! mismatch harness sees no gap for a batch-independent layer.

use kiln_core::ExperimentConfig;
use kiln_norm::experiment;

#[test]
fn quick_experiment_reports_every_cell_and_figure() {
    let config = ExperimentConfig {
        quick: true,
        seed: 1,
        ..ExperimentConfig::default()
    };
    let start = std::time::Instant::now();
    let report = experiment::run(&config).unwrap();
    eprintln!("quick experiment: {:.1} s", start.elapsed().as_secs_f64());
    assert_eq!(report.name, experiment::NAME);
    assert!(report.metrics.iter().all(|m| m.value.is_finite()));
    for norm in ["batch", "group", "precise_bn", "batch_renorm"] {
        for b in [32, 16, 8, 4, 2] {
            let e = report.get(&format!("{norm}_b{b}_test_error")).unwrap();
            assert!((0.0..=1.0).contains(&e), "{norm} b{b}: {e}");
            let g = report.get(&format!("{norm}_b{b}_gap")).unwrap();
            assert!((-1.0..=1.0).contains(&g));
            if norm == "group" {
                // GroupNorm has no batch statistics: training and inference mode agree.
                assert_eq!(g, 0.0, "GroupNorm gap at b{b}");
            }
        }
    }
    let names: Vec<&str> = report.figures.iter().map(|f| f.name.as_str()).collect();
    assert_eq!(names, ["norm_test_error", "norm_train_eval_gap"]);
    assert!(
        report
            .figures
            .iter()
            .all(|f| f.series.len() == 4 && f.series.iter().all(|s| s.x.len() == 5))
    );
    assert!(report.notes.iter().any(|n| n.contains("NOT converged")));
}
