//! `kiln drift detect` and `kiln drift bench`: river's indices through the CLI, the JSON shape,
//! exit codes, and that no tensor backend is involved.

use kiln_cli::testing::{run_args, run_json, write_file};
use serde_json::Value;

/// River's unit-test stream `name` (s1, s2, s3) as a one-column CSV in `dir`.
fn river_stream(dir: &std::path::Path, name: &str) -> String {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../kiln-drift/tests/data/drift_river.json");
    let v: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let mut csv = String::from("value\n");
    for x in v["unit_test_streams"][name].as_array().unwrap() {
        csv += &format!("{}\n", x.as_f64().unwrap());
    }
    write_file(dir, &format!("{name}.csv"), csv)
}

fn indices(v: &Value) -> Vec<u64> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_u64().unwrap())
        .collect()
}

#[test]
fn detect_reproduces_river_indices() {
    let dir = tempfile::tempdir().unwrap();
    let s1 = river_stream(dir.path(), "s1");
    let s2 = river_stream(dir.path(), "s2");
    let s3 = river_stream(dir.path(), "s3");
    let r = run_json(&["drift", "detect", "--detector", "adwin", "--input", &s1]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(indices(&r.json["drifts"]), [1023]);
    assert!(r.json["warnings"].is_array());
    let r = run_json(&[
        "drift",
        "detect",
        "--detector",
        "page-hinkley",
        "--input",
        &s3,
        "--set",
        "mode=up",
    ]);
    assert_eq!(indices(&r.json["drifts"]), [588, 1681]);
    let r = run_json(&[
        "drift",
        "detect",
        "--detector",
        "hddm-a",
        "--input",
        &s3,
        "--set",
        "two_sided_test=true",
    ]);
    assert_eq!(indices(&r.json["drifts"]), [531, 1015, 1545]);
    let r = run_json(&[
        "drift",
        "detect",
        "--detector",
        "eddm",
        "--input",
        &s2,
        "--set",
        "alpha=0.9",
        "--set",
        "beta=0.8",
    ]);
    assert_eq!(indices(&r.json["drifts"]), [1059]);
    let r = run_json(&["drift", "detect", "--detector", "ddm", "--input", &s2]);
    assert_eq!(indices(&r.json["drifts"]), [1049]);
    assert!(!r.json["warnings"].as_array().unwrap().is_empty());
}

#[test]
fn detect_runs_every_detector_and_checks_a_named_backend() {
    let dir = tempfile::tempdir().unwrap();
    let s2 = river_stream(dir.path(), "s2");
    for d in [
        "adwin",
        "page-hinkley",
        "ddm",
        "eddm",
        "hddm-a",
        "hddm-w",
        "kswin",
        "cusum",
        "ewma",
        "loss-monitor",
    ] {
        let r = run_json(&[
            "--backend",
            "flex",
            "drift",
            "detect",
            "--detector",
            d,
            "--input",
            &s2,
        ]);
        assert_eq!(r.code, 0, "{d}: {}", r.stderr);
        assert_eq!(r.json["detector"], d);
        assert_eq!(r.json["samples"], 2000);
        if d != "loss-monitor" {
            assert!(
                !r.json["drifts"].as_array().unwrap().is_empty(),
                "{d} missed the change"
            );
        }
    }
    // The loss monitor is for a sudden jump of a continuous loss: s1 jumps from {0,1} to 0..7.
    let s1 = river_stream(dir.path(), "s1");
    let r = run_json(&[
        "drift",
        "detect",
        "--detector",
        "loss-monitor",
        "--input",
        &s1,
    ]);
    assert!(
        indices(&r.json["drifts"])
            .iter()
            .any(|&i| (1000..1060).contains(&i)),
        "{}",
        r.json
    );
    // Each drift comes with the monitor's estimated change point.
    let drifts = indices(&r.json["drifts"]);
    let cps = r.json["change_points"].as_array().unwrap();
    assert_eq!(cps.len(), drifts.len());
    let i = drifts
        .iter()
        .position(|&i| (1000..1060).contains(&i))
        .unwrap();
    let cp = cps[i].as_u64().unwrap();
    assert!((995..=drifts[i]).contains(&cp), "change point {cp}");
    // Detectors without an estimate give null.
    let r = run_json(&["drift", "detect", "--detector", "adwin", "--input", &s1]);
    assert_eq!(r.json["change_points"], serde_json::json!([null]));
    // A backend named on the command line must exist in every subcommand (exit 2), even one
    // that uses no tensors; a global KILN_BACKEND is tested with a child process in binary.rs.
    let r = run_json(&[
        "--backend",
        "wgpu",
        "drift",
        "detect",
        "--detector",
        "adwin",
        "--input",
        &s2,
    ]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    let help = run_args(&["drift", "--help"]);
    assert_eq!(help.code, 0);
    assert!(help.stdout.contains("no tensors"), "{}", help.stdout);
}

#[test]
fn detect_bad_input_exits_2_with_one_line() {
    let dir = tempfile::tempdir().unwrap();
    let good = write_file(dir.path(), "good.csv", "0\n1\n0\n");
    let nan = write_file(dir.path(), "nan.csv", "0\nNaN\n");
    let empty = write_file(dir.path(), "empty.csv", "value\n");
    let two = write_file(dir.path(), "two.csv", "0\n2\n");
    let half = write_file(dir.path(), "half.csv", "0\n0.5\n");
    let cases: Vec<Vec<&str>> = vec![
        vec!["--detector", "adwim", "--input", &good],
        vec![
            "--detector",
            "adwin",
            "--input",
            &good,
            "--set",
            "deltaa=0.1",
        ],
        vec!["--detector", "adwin", "--input", &good, "--set", "delta=2"],
        vec!["--detector", "adwin", "--input", &good, "--set", "delta"],
        vec![
            "--detector",
            "page-hinkley",
            "--input",
            &good,
            "--set",
            "mode=sideways",
        ],
        vec!["--detector", "adwin", "--input", &nan],
        vec!["--detector", "adwin", "--input", &empty],
        vec!["--detector", "adwin", "--input", "/no/such/file.csv"],
        vec!["--detector", "ddm", "--input", &two],
        vec!["--detector", "eddm", "--input", &half],
    ];
    for c in cases {
        let mut args = vec!["drift", "detect"];
        args.extend(c.iter().copied());
        let r = run_json(&args);
        assert_eq!(r.code, 2, "{c:?}: {}", r.stderr);
        assert_eq!(r.stderr.lines().count(), 1, "{c:?}: {}", r.stderr);
        assert!(r.json["error"].is_string(), "{c:?}");
    }
}

#[test]
fn bench_prints_the_harness_table() {
    let r = run_json(&[
        "drift",
        "bench",
        "--seeds",
        "2",
        "--stationary-seeds",
        "1",
        "--stationary-len",
        "3000",
    ]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let rows = r.json["rows"].as_array().unwrap();
    assert!(
        rows.iter()
            .any(|x| x["detector"] == "do-nothing" && x["scenario"] == "abrupt")
    );
    assert!(
        rows.iter()
            .any(|x| x["detector"] == "cusum" && x["scenario"] == "loss-jump")
    );
    assert_eq!(r.json["targets"].as_array().unwrap().len(), 4);
    let bad = run_json(&["drift", "bench", "--seeds", "0"]);
    assert_eq!(bad.code, 2);
    let text = run_args(&[
        "drift",
        "bench",
        "--seeds",
        "1",
        "--stationary-seeds",
        "1",
        "--stationary-len",
        "2000",
    ]);
    assert_eq!(text.code, 0);
    assert!(text.stdout.contains("mean delay"));
}

#[test]
fn reproduce_drift_quick_writes_a_report() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("report");
    let r = run_json(&[
        "reproduce",
        "drift",
        "--quick",
        "--quiet",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(out.join("report.md").exists());
}
