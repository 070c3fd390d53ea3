//! The quick seed experiment runs every path and reports the landscape ratios exactly.

use kiln_core::ExperimentConfig;
use kiln_losses::experiment;

#[test]
fn quick_experiment_reports_ratios_and_every_loss() {
    let config = ExperimentConfig {
        quick: true,
        seed: 5,
        ..ExperimentConfig::default()
    };
    let report = experiment::run(&config).unwrap();
    assert_eq!(report.name, experiment::NAME);
    assert!(report.metrics.iter().all(|m| m.value.is_finite()));
    let zero = report
        .get("dice_over_jaccard_grad_at_zero_overlap")
        .unwrap();
    let perfect = report
        .get("jaccard_over_dice_grad_near_perfect_fit")
        .unwrap();
    assert!((zero - 2.0).abs() < 1e-9, "{zero}");
    assert!((perfect - 2.0).abs() < 1e-6, "{perfect}");
    let cross = report.get("grad_crossover_iou").unwrap();
    assert!(
        (cross - (2f64.sqrt() - 1.0)).abs() <= 0.1 + 1e-12,
        "{cross}"
    );
    for loss in ["dice", "jaccard", "lovasz", "ce"] {
        for size in ["small", "large"] {
            let iou = report.get(&format!("{loss}_final_iou_{size}")).unwrap();
            assert!((0.0..=1.0).contains(&iou), "{loss} {size}: {iou}");
        }
    }
    let names: Vec<&str> = report.figures.iter().map(|f| f.name.as_str()).collect();
    for f in [
        "losses_gradient_vs_overlap",
        "losses_iou_small_object",
        "losses_iou_large_object",
        "losses_training_loss",
    ] {
        assert!(names.contains(&f), "missing figure {f}");
    }
    assert!(report.notes.iter().any(|n| n.contains("NOT converged")));
}
