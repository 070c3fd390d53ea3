//! The quick experiment runs all three parts and reports the contract's metrics.

use kiln_core::ExperimentConfig;
use kiln_dynamics::experiment;

#[test]
fn quick_experiment_reports_the_contract_metrics() {
    let config = ExperimentConfig {
        quick: true,
        seed: 2,
        ..ExperimentConfig::default()
    };
    let report = experiment::run(&config).unwrap();
    assert_eq!(report.name, experiment::NAME);
    for m in [
        "symmetry_constant_rank",
        "symmetry_random_rank",
        "ood_r2_mechanistic",
        "ood_r2_network",
        "id_r2_mechanistic",
        "id_r2_network",
        "gda_final_distance",
        "gda_clipped_final_distance",
        "extragradient_final_distance",
    ] {
        let v = report.get(m).unwrap_or_else(|| panic!("missing {m}"));
        assert!(v.is_finite(), "{m} = {v}");
    }
    assert_eq!(report.get("symmetry_constant_rank"), Some(1.0));
    assert_eq!(report.get("symmetry_random_rank"), Some(2.0));
    assert_eq!(
        report.get("symmetry_constant_identical_every_step"),
        Some(1.0)
    );
    let gda = report.get("gda_final_distance").unwrap();
    let clipped = report.get("gda_clipped_final_distance").unwrap();
    let eg = report.get("extragradient_final_distance").unwrap();
    let start = 2f64.sqrt();
    assert!(gda > start && clipped > start - 1e-12 && clipped < gda && eg < start);
    for fig in &report.figures {
        for s in &fig.series {
            assert_eq!(s.x.len(), s.y.len(), "{}", fig.name);
            assert!(
                s.y.iter().all(|v| v.is_finite()),
                "{}: {}",
                fig.name,
                s.label
            );
        }
    }
    assert!(report.notes.iter().any(|n| n.contains("NOT converged")));
    assert!(
        report
            .notes
            .iter()
            .any(|n| n.contains("kiln reproduce dynamics"))
    );
}
