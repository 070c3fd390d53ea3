//! `kiln ctc loss` and `kiln ctc decode`: JSON output and exit codes.

use kiln_cli::testing::{Ran, run_json, write_file};
use serde_json::json;

#[test]
fn loss_prints_per_sample_losses_and_gradient() {
    let dir = tempfile::tempdir().unwrap();
    // T = 2, N = 2, C = 2, uniform logits: sample 0 target [1] has P = 3/4; sample 1 target
    // [1, 1] needs 3 frames (infeasible -> inf).
    let case = json!({
        "logits": [0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0],
        "T": 2, "N": 2, "C": 2, "blank": 0,
        "targets": [[1, 0], [1, 1]],
        "input_lengths": [2, 2],
        "target_lengths": [1, 2],
        "reduction": "none"
    });
    let path = write_file(dir.path(), "case.json", case.to_string());
    let Ran { code, json: v, .. } = run_json(&["ctc", "loss", "--input", &path, "--grad"]);
    assert_eq!(code, 0, "{v}");
    let l0 = v["loss"][0].as_f64().unwrap();
    assert!((l0 + 0.75f64.ln()).abs() < 1e-12);
    assert_eq!(v["loss"][1], "inf");
    assert_eq!(v["feasible"], json!([true, false]));
    assert_eq!(v["grad_logits"].as_array().unwrap().len(), 8);

    let mut zinf = case.clone();
    zinf["zero_infinity"] = json!(true);
    zinf["reduction"] = json!("sum");
    let path = write_file(dir.path(), "z.json", zinf.to_string());
    let Ran { code, json: v, .. } = run_json(&["ctc", "loss", "--input", &path]);
    assert_eq!(code, 0);
    assert!((v["loss"].as_f64().unwrap() - l0).abs() < 1e-12);
    assert!(v.get("grad_logits").is_none());
}

#[test]
fn loss_bad_input_exits_2() {
    let dir = tempfile::tempdir().unwrap();
    let base = json!({
        "logits": [0.0, 0.0, 0.0, 0.0], "T": 2, "N": 1, "C": 2, "blank": 0,
        "targets": [[1]], "input_lengths": [2], "target_lengths": [1]
    });
    let mut cases = Vec::new();
    let mut c = base.clone();
    c["targets"] = json!([[0]]); // blank in the target
    cases.push(c);
    let mut c = base.clone();
    c["blank"] = json!(5);
    cases.push(c);
    let mut c = base.clone();
    c["input_lengths"] = json!([-1]);
    cases.push(c);
    let mut c = base.clone();
    c["logits"] = json!([0.0, 0.0, 0.0]);
    cases.push(c);
    let mut c = base.clone();
    c["reduction"] = json!("median");
    cases.push(c);
    for (i, c) in cases.iter().enumerate() {
        let path = write_file(dir.path(), &format!("bad{i}.json"), c.to_string());
        let Ran { code, json: v, .. } = run_json(&["ctc", "loss", "--input", &path]);
        assert_eq!(code, 2, "case {i}: {v}");
        assert!(v["error"].is_string());
    }
    let path = write_file(dir.path(), "broken.json", "{\"logits\": [");
    assert_eq!(run_json(&["ctc", "loss", "--input", &path]).code, 2);
}

#[test]
fn decode_with_lm_hotwords_and_nbest() {
    let dir = tempfile::tempdir().unwrap();
    let alphabet = "_ abt";
    // "ab" spelled clearly, then a blank frame.
    let rows = [
        [0.05, 0.05, 0.8, 0.05, 0.05],
        [0.8, 0.05, 0.05, 0.05, 0.05],
        [0.05, 0.05, 0.05, 0.8, 0.05],
        [0.8, 0.05, 0.05, 0.05, 0.05],
    ];
    let lp: Vec<f64> = rows.iter().flatten().map(|p: &f64| p.ln()).collect();
    let npy = dir.path().join("lp.npy");
    kiln_core::io::write_npy_f64(&npy, &lp, &[4, 5]).unwrap();
    let npy = npy.to_string_lossy().into_owned();
    let Ran { code, json: v, .. } = run_json(&[
        "ctc",
        "decode",
        "--log-probs",
        &npy,
        "--alphabet",
        alphabet,
        "--nbest",
        "2",
    ]);
    assert_eq!(code, 0, "{v}");
    assert_eq!(v["text"], "ab");
    assert_eq!(v["greedy"], "ab");
    assert_eq!(v["hypotheses"].as_array().unwrap().len(), 2);
    assert_eq!(v["hypotheses"][0]["words"][0]["word"], "ab");

    let arpa = "\\data\\\nngram 1=2\n\n\\1-grams:\n-0.3 ab\n-0.3 at\n\n\\end\\\n";
    let lm = write_file(dir.path(), "lm.arpa", arpa);
    let Ran { code, json: v, .. } = run_json(&[
        "ctc",
        "decode",
        "--log-probs",
        &npy,
        "--alphabet",
        alphabet,
        "--lm",
        &lm,
        "--alpha",
        "0.5",
        "--beta",
        "1",
        "--hotword",
        "at",
    ]);
    assert_eq!(code, 0, "{v}");
    assert!(v["hypotheses"][0]["score"].as_f64().is_some());

    let bad = write_file(
        dir.path(),
        "bad.arpa",
        "\\data\\\nngram 1=2\n\n\\1-grams:\n-0.3 ab\nx at\n\\end\\\n",
    );
    let Ran { code, json: v, .. } = run_json(&[
        "ctc",
        "decode",
        "--log-probs",
        &npy,
        "--alphabet",
        alphabet,
        "--lm",
        &bad,
    ]);
    assert_eq!(code, 2);
    assert!(v["error"].as_str().unwrap().contains("line 6"), "{v}");
    // Alphabet size disagrees with C.
    assert_eq!(
        run_json(&["ctc", "decode", "--log-probs", &npy, "--alphabet", "_ab"]).code,
        2
    );
    assert_eq!(
        run_json(&[
            "ctc",
            "decode",
            "--log-probs",
            "/no/such.npy",
            "--alphabet",
            alphabet
        ])
        .code,
        2
    );
}

#[test]
fn a_backend_flag_this_build_lacks_exits_2_in_every_subcommand() {
    use kiln_core::BackendKind;
    let missing: Vec<BackendKind> = BackendKind::ALL
        .into_iter()
        .filter(|k| !k.is_compiled())
        .collect();
    let dir = tempfile::tempdir().unwrap();
    let case = json!({
        "logits": [0.0, 0.0, 0.0, 0.0], "T": 2, "N": 1, "C": 2, "blank": 0,
        "targets": [[1]], "input_lengths": [2], "target_lengths": [1]
    });
    let path = write_file(dir.path(), "case.json", case.to_string());
    for kind in missing {
        for args in [
            vec!["ctc", "loss", "--input", &path],
            vec![
                "privacy",
                "epsilon",
                "--sampling-rate",
                "0.01",
                "--noise-multiplier",
                "1",
                "--steps",
                "10",
                "--delta",
                "1e-5",
            ],
            vec![
                "pinn",
                "solve",
                "--problem",
                "poisson1d",
                "--adam-steps",
                "1",
            ],
            vec!["reproduce", "check", "--quick"],
        ] {
            let mut argv = vec!["--backend", kind.name()];
            argv.extend(args.iter().copied());
            let r = run_json(&argv);
            assert_eq!(r.code, 2, "{argv:?}: {}", r.stderr);
            assert!(r.stderr.contains("not compiled"), "{}", r.stderr);
        }
    }
    // The same flag after the subcommand (clap's global flags) is caught too.
    if !BackendKind::Wgpu.is_compiled() {
        let r = run_json(&["ctc", "loss", "--input", &path, "--backend", "wgpu"]);
        assert_eq!(r.code, 2, "{}", r.stderr);
    }
}

#[test]
fn subcommands_without_tensors_say_so_in_their_help() {
    for sub in [["ctc", "loss"], ["ctc", "decode"], ["privacy", "epsilon"]] {
        let r = kiln_cli::testing::run_args(&[sub[0], sub[1], "--help"]);
        assert_eq!(r.code, 0);
        assert!(
            r.stdout.contains("uses no tensors"),
            "{sub:?}: {}",
            r.stdout
        );
    }
}
