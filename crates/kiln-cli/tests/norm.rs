//! `kiln norm sweep`: the JSON contract on the quick run, and bad input.

use kiln_cli::testing::{run_args, run_json};

#[test]
fn quick_sweep_prints_one_row_per_cell() {
    let r = run_json(&["norm", "sweep", "--quick", "--seed", "2"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let rows = r.json["rows"].as_array().expect("rows");
    assert_eq!(rows.len(), 4 * 5);
    for norm in ["batch", "group", "precise-bn", "batch-renorm"] {
        for b in [32, 16, 8, 4, 2] {
            let row = rows
                .iter()
                .find(|row| row["norm"] == norm && row["batch_size"] == b)
                .unwrap_or_else(|| panic!("missing {norm} b{b}"));
            let e = row["test_error"].as_f64().unwrap();
            let g = row["train_eval_gap"].as_f64().unwrap();
            assert!((0.0..=1.0).contains(&e) && (-1.0..=1.0).contains(&g));
            if norm == "group" {
                assert_eq!(g, 0.0);
            }
        }
    }
}

#[test]
fn sweep_subset_and_text_output() {
    let r = run_json(&[
        "norm",
        "sweep",
        "--quick",
        "--norms",
        "frn,ghost",
        "--batch-sizes",
        "4",
    ]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let rows = r.json["rows"].as_array().unwrap();
    assert_eq!(rows.len(), 2);
    assert_eq!(rows[0]["norm"], "frn");
    assert_eq!(rows[1]["norm"], "ghost");
    let t = run_args(&[
        "-q",
        "norm",
        "sweep",
        "--quick",
        "--norms",
        "group",
        "--batch-sizes",
        "2",
    ]);
    assert_eq!(t.code, 0, "{}", t.stderr);
    assert!(
        t.stdout.contains("group") && t.stdout.contains("not converged"),
        "{}",
        t.stdout
    );
}

#[test]
fn bad_sweep_input_is_exit_2() {
    for args in [
        &["norm", "sweep", "--quick", "--norms", "layer"][..],
        &["norm", "sweep", "--quick", "--batch-sizes", "1"][..],
        &["norm", "sweep", "--quick", "--batch-sizes", "0,4"][..],
    ] {
        let r = run_json(args);
        assert_eq!(r.code, 2, "{args:?}: {}", r.stderr);
        assert_eq!(r.stderr.lines().count(), 1);
        assert!(r.json["error"].is_string());
    }
}
