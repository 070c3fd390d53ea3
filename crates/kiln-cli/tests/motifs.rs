//! `kiln motifs census|significance|weights`: JSON shape, parity with the library, seeds and
//! exit codes.

use kiln_cli::testing::{run_args, run_json, write_file};

const MFINDER: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../kiln-motifs/tests/data/mfinder_example_16.edges.txt"
);

#[test]
fn census_size_3_prints_all_16_triads() {
    let r = run_json(&["motifs", "census", "--edges", MFINDER]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(r.json["nodes"], 16);
    assert_eq!(r.json["edges"], 19);
    let triads = r.json["triads"].as_object().unwrap();
    assert_eq!(triads.len(), 16);
    // mfinder's documented result for its example network: 5 feed-forward loops.
    assert_eq!(r.json["triads"]["030T"], 5);
    let total: u64 = triads.values().map(|v| v.as_u64().unwrap()).sum();
    assert_eq!(total, 16 * 15 * 14 / 6);
}

#[test]
fn census_size_4_lists_199_classes() {
    let r = run_json(&["motifs", "census", "--edges", MFINDER, "--size", "4"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let motifs = r.json["motifs"].as_array().unwrap();
    assert_eq!(motifs.len(), 199);
    let total: u64 = motifs.iter().map(|m| m["count"].as_u64().unwrap()).sum();
    assert_eq!(total, 24); // igraph motifs_randesu(size=4), tests/data/motifs_igraph.json
    assert!(motifs.iter().any(|m| m["mfinder_id"] == 204));
}

#[test]
fn significance_is_seeded_and_finds_the_ffl() {
    let args = [
        "motifs",
        "significance",
        "--edges",
        MFINDER,
        "--null",
        "switching",
        "--samples",
        "40",
        "--seed",
        "3",
    ];
    let a = run_json(&args);
    assert_eq!(a.code, 0, "{}", a.stderr);
    let b = run_json(&args);
    assert_eq!(a.json, b.json, "same seed, same output");
    let motifs = a.json["motifs"].as_array().unwrap();
    assert_eq!(motifs.len(), 13);
    let ffl = motifs.iter().find(|m| m["man"] == "030T").unwrap();
    assert_eq!(ffl["mfinder_id"], 38);
    assert_eq!(ffl["count"], 5);
    assert!(ffl["z"].as_f64().unwrap() > 2.0, "{ffl}");
    for key in ["null_mean", "null_std", "z"] {
        assert!(ffl.get(key).is_some());
    }
    let sp = a.json["profile"].as_array().unwrap();
    let norm: f64 = sp.iter().map(|v| v.as_f64().unwrap().powi(2)).sum();
    assert!((norm - 1.0).abs() < 1e-9);
    let mut other = args.to_vec();
    let last = other.len() - 1;
    other[last] = "4";
    let c = run_json(&other);
    assert_ne!(
        a.json["motifs"], c.json["motifs"],
        "another seed, another ensemble"
    );
}

#[test]
fn significance_every_null_and_text_output() {
    for null in ["degree", "configuration", "gnm"] {
        let r = run_json(&[
            "motifs",
            "significance",
            "--edges",
            MFINDER,
            "--null",
            null,
            "--samples",
            "10",
        ]);
        assert_eq!(r.code, 0, "{null}: {}", r.stderr);
        assert_eq!(r.json["null"], null);
    }
    let r = run_args(&[
        "-q",
        "motifs",
        "significance",
        "--edges",
        MFINDER,
        "--samples",
        "5",
    ]);
    assert_eq!(r.code, 0);
    assert!(r.stdout.contains("030T"), "{}", r.stdout);
}

#[test]
fn weights_thresholds_a_matrix_and_reports_signed_ffls() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("w.npy");
    // 0 -> 1 (+), 1 -> 2 (+), 0 -> 2 (-): one incoherent FFL of type I3; 2 -> 3 weak.
    let mut w = vec![0.0; 16];
    w[1] = 1.0;
    w[4 + 2] = 0.8;
    w[2] = -0.9;
    w[2 * 4 + 3] = 0.01;
    kiln_core::io::write_npy_f64(&path, &w, &[4, 4]).unwrap();
    let p = path.to_string_lossy();
    let r = run_json(&[
        "motifs",
        "weights",
        "--weights",
        &p,
        "--threshold",
        "0.5",
        "--samples",
        "5",
    ]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(r.json["edges"], 3);
    assert_eq!(r.json["signed_ffl"]["induced"]["I3"], 1);
    assert_eq!(r.json["signed_ffl"]["induced_coherent"], 0);
    let top = run_json(&[
        "motifs",
        "weights",
        "--weights",
        &p,
        "--keep-top",
        "0.25",
        "--samples",
        "5",
    ]);
    assert_eq!(top.code, 0, "{}", top.stderr);
    assert_eq!(top.json["edges"], 3); // ceil(0.25 * 12) = 3 largest |w|
}

#[test]
fn bad_input_exits_2_with_one_line() {
    let dir = tempfile::tempdir().unwrap();
    let bad = write_file(dir.path(), "bad.txt", "0 1\n1 2 3 4\n");
    let r = run_json(&["motifs", "census", "--edges", &bad]);
    assert_eq!(r.code, 2);
    assert_eq!(r.stderr.lines().count(), 1);
    assert!(r.stderr.contains("bad.txt:2"), "{}", r.stderr);
    let dup = write_file(dir.path(), "dup.txt", "0 1\n0 1\n");
    assert_eq!(run_json(&["motifs", "census", "--edges", &dup]).code, 2);
    let r = run_json(&["motifs", "census", "--edges", MFINDER, "--size", "5"]);
    assert_eq!(r.code, 2);
    let r = run_json(&[
        "motifs",
        "significance",
        "--edges",
        MFINDER,
        "--null",
        "nope",
    ]);
    assert_eq!(r.code, 2);
    assert!(r.stderr.contains("null"), "{}", r.stderr);
    let r = run_json(&[
        "motifs",
        "significance",
        "--edges",
        MFINDER,
        "--samples",
        "1",
    ]);
    assert_eq!(r.code, 2);
    let empty = write_file(dir.path(), "empty.txt", "# n=4\n");
    assert_eq!(
        run_json(&["motifs", "significance", "--edges", &empty]).code,
        2
    );
    let r = run_json(&["motifs", "census", "--edges", "/no/such/file"]);
    assert_eq!(r.code, 2);
    let nonsq = dir.path().join("ns.npy");
    kiln_core::io::write_npy_f64(&nonsq, &[1.0; 6], &[2, 3]).unwrap();
    let r = run_json(&["motifs", "weights", "--weights", &nonsq.to_string_lossy()]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    let r = run_json(&[
        "motifs",
        "weights",
        "--weights",
        &nonsq.to_string_lossy(),
        "--keep-top",
        "2",
    ]);
    assert_eq!(r.code, 2);
}

#[test]
fn a_global_backend_setting_does_not_break_it() {
    let r = run_json(&["--backend", "flex", "motifs", "census", "--edges", MFINDER]);
    assert_eq!(r.code, 0, "{}", r.stderr);
}

#[test]
fn reproduce_motifs_quick_writes_a_report() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("report");
    let r = run_json(&[
        "reproduce",
        "motifs",
        "--quick",
        "--out",
        &out.to_string_lossy(),
    ]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let text = std::fs::read_to_string(out.join("report.json")).unwrap();
    assert!(text.contains("celegans_ffl_z_switching"));
    assert!(out.join("sp_before_after.svg").exists());
}

#[test]
fn sample_estimates_with_full_probabilities_equal_the_census() {
    let exact = run_json(&["motifs", "census", "--edges", MFINDER, "--size", "4"]);
    let r = run_json(&[
        "motifs",
        "sample",
        "--edges",
        MFINDER,
        "--size",
        "4",
        "--probabilities",
        "1,1,1,1",
    ]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let total: f64 = r.json["motifs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["estimate"].as_f64().unwrap())
        .sum();
    let want: u64 = exact.json["motifs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["count"].as_u64().unwrap())
        .sum();
    assert_eq!(total, want as f64);
    let thinned = run_json(&[
        "motifs", "sample", "--edges", MFINDER, "--size", "5", "--seed", "2",
    ]);
    assert_eq!(thinned.code, 0, "{}", thinned.stderr);
    let bad = run_json(&[
        "motifs",
        "sample",
        "--edges",
        MFINDER,
        "--size",
        "4",
        "--probabilities",
        "1,1",
    ]);
    assert_eq!(bad.code, 2);
}
