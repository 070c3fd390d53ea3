//! The quick seed experiment runs every path and reports finite, complete results.

use kiln_core::ExperimentConfig;
use kiln_ctc::experiment;

#[test]
fn quick_experiment_reports_every_variant_and_decoder() {
    let config = ExperimentConfig {
        quick: true,
        seed: 3,
        ..ExperimentConfig::default()
    };
    let report = experiment::run(&config).unwrap();
    assert_eq!(report.name, experiment::NAME);
    assert!(report.metrics.iter().all(|m| m.value.is_finite()));
    for v in ["none", "bias3", "entropy", "prior"] {
        let loss = report.get(&format!("{v}_final_loss")).unwrap();
        assert!(loss > 0.0, "{v}: CTC loss must be positive, got {loss}");
        for d in ["greedy", "beam", "beam_lm"] {
            for rate in ["cer", "wer"] {
                let r = report.get(&format!("{v}_{rate}_{d}")).unwrap();
                assert!(r >= 0.0, "{v} {rate} {d} = {r}");
            }
        }
        let entry = report.get(&format!("{v}_plateau_entry")).unwrap();
        let exit = report.get(&format!("{v}_plateau_exit")).unwrap();
        assert!(entry == -1.0 && exit == -1.0 || 0.0 <= entry && entry < exit);
    }
    assert!(report.get("lm_alpha").unwrap() > 0.0);
    let names: Vec<&str> = report.figures.iter().map(|f| f.name.as_str()).collect();
    for f in [
        "ctc_loss",
        "ctc_blank_frames",
        "ctc_blank_mass",
        "ctc_empty_outputs",
        "ctc_error_rates",
        "ctc_word_error_rates",
    ] {
        assert!(names.contains(&f), "missing figure {f}");
    }
    for fig in &report.figures {
        for s in &fig.series {
            assert_eq!(s.x.len(), s.y.len());
            assert!(
                !s.y.is_empty() && s.y.iter().all(|v| v.is_finite()),
                "{}: {}",
                fig.name,
                s.label
            );
        }
        let expected = if fig.name.contains("error_rates") {
            3
        } else {
            4
        };
        assert_eq!(fig.series.len(), expected, "{}", fig.name);
    }
    // The training loss of the bias-initialized run differs from the plain run's at step 0
    // (same weights otherwise): the remedy really changed the model.
    let loss_fig = &report.figures[0];
    assert_ne!(loss_fig.series[0].y[0], loss_fig.series[1].y[0]);
    // Same seed, same data, same init: the plain and entropy runs agree at step 0 (the
    // bonus changes the update, not the first forward pass).
    assert_eq!(loss_fig.series[0].y[0], loss_fig.series[2].y[0]);
    assert!(
        report
            .notes
            .iter()
            .any(|n| n.contains("kiln reproduce ctc"))
    );
}
