//! The quick seed experiment runs every path and reports finite, complete, labelled results.

use kiln_core::ExperimentConfig;
use kiln_motifs::experiment;

#[test]
fn quick_experiment_reports_before_after_and_celegans() {
    let config = ExperimentConfig {
        quick: true,
        seed: 5,
        ..ExperimentConfig::default()
    };
    let report = experiment::run(&config).unwrap();
    assert_eq!(report.name, experiment::NAME);
    assert!(report.metrics.iter().all(|m| m.value.is_finite()));
    for key in [
        "ffl_mean_before",
        "ffl_mean_after",
        "ffl_z_mean_before",
        "ffl_z_mean_after",
        "accuracy_mean",
    ] {
        assert!(report.get(key).is_some(), "missing {key}");
    }
    let acc = report.get("accuracy_mean").unwrap();
    assert!((0.0..=1.0).contains(&acc));
    // The worm's FFL count is a fixed property of the data (White 1986, >= 1 synapse).
    let worm_ffl = report.get("celegans_ffl").unwrap();
    let g = kiln_motifs::read_edge_list(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/data/celegans_white1986_chem_syn_ge1.edges.txt"
    ))
    .unwrap();
    assert_eq!(
        worm_ffl,
        kiln_motifs::motif_census3(&g)
            .get(kiln_motifs::FFL_ID)
            .unwrap() as f64
    );
    for null in ["switching", "degree", "configuration", "gnm"] {
        assert!(
            report.get(&format!("celegans_ffl_z_{null}")).is_some(),
            "{null}"
        );
    }
    // Against G(n, m) the connectome's FFLs are far above chance even with 20 null graphs.
    assert!(report.get("celegans_ffl_z_gnm").unwrap() > 3.0);
    let names: Vec<&str> = report.figures.iter().map(|f| f.name.as_str()).collect();
    for f in ["sp_before_after", "training_loss", "celegans_ffl_z"] {
        assert!(names.contains(&f), "missing figure {f}");
    }
    assert!(report.notes.iter().any(|n| n.contains("not converged")));
}
