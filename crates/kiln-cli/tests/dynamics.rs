//! `kiln dynamics symmetry|game|ood`: JSON contract, small runs, bad input.

use kiln_cli::testing::{run_args, run_json};

#[test]
fn help_lists_the_three_experiments_and_their_knobs() {
    let r = run_args(&["dynamics", "--help"]);
    assert_eq!(r.code, 0);
    for sub in ["symmetry", "game", "ood"] {
        assert!(r.stdout.contains(sub), "{}", r.stdout);
    }
    let r = run_args(&["dynamics", "game", "--help"]);
    for knob in [
        "--algorithm",
        "--lr",
        "--steps",
        "--clip-norm",
        "--clip-value",
        "--x0",
    ] {
        assert!(r.stdout.contains(knob), "{knob}: {}", r.stdout);
    }
    let r = run_args(&["dynamics", "ood", "--help"]);
    for knob in ["--train", "--spurious", "--cnn-steps", "--mech-steps"] {
        assert!(r.stdout.contains(knob), "{knob}");
    }
    let r = run_args(&["dynamics", "symmetry", "--help"]);
    for knob in ["--hidden", "--steps", "--lr", "--constant"] {
        assert!(r.stdout.contains(knob), "{knob}");
    }
}

#[test]
fn game_gda_matches_the_closed_form_and_extragradient_contracts() {
    let r = run_json(&[
        "dynamics",
        "game",
        "--algorithm",
        "gda",
        "--lr",
        "0.1",
        "--steps",
        "100",
    ]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let d0 = r.json["start_distance"].as_f64().unwrap();
    let d = r.json["final_distance"].as_f64().unwrap();
    let expected = d0 * 1.01f64.powf(50.0);
    assert!((d - expected).abs() < 1e-9 * expected, "{d} vs {expected}");
    assert!((r.json["jacobian_rotation"].as_f64().unwrap() - 1.0).abs() < 1e-12);
    let r = run_json(&[
        "dynamics",
        "game",
        "--algorithm",
        "extragradient",
        "--steps",
        "100",
    ]);
    assert_eq!(r.code, 0);
    assert!(r.json["final_distance"].as_f64().unwrap() < d0);
    let r = run_json(&[
        "dynamics",
        "game",
        "--clip-norm",
        "0.2",
        "--lr",
        "0.1",
        "--steps",
        "50",
        "--x0",
        "-2",
    ]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(r.json["max_player_step"].as_f64().unwrap() <= 0.02 + 1e-15);
    assert!(r.json["clipped_steps"].as_u64().unwrap() > 0);
}

#[test]
fn symmetry_and_ood_small_runs() {
    let r = run_json(&[
        "dynamics",
        "symmetry",
        "--hidden",
        "4",
        "--samples",
        "32",
        "--steps",
        "5",
    ]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let runs = r.json["runs"].as_array().unwrap();
    assert_eq!(runs.len(), 4);
    assert_eq!(runs[0]["init"], "constant");
    assert_eq!(runs[0]["identical_every_step"], true);
    assert_eq!(runs[0]["final_weight_rank"], 1);
    assert_eq!(runs[1]["identical_every_step"], false);
    let r = run_json(&[
        "--seed",
        "3",
        "dynamics",
        "ood",
        "--train",
        "64",
        "--test",
        "32",
        "--cnn-steps",
        "3",
        "--mech-steps",
        "3",
        "--mech-restarts",
        "1",
    ]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    for k in [
        "id_r2_network",
        "ood_r2_network",
        "id_r2_mechanistic",
        "ood_r2_mechanistic",
    ] {
        assert!(r.json[k].as_f64().unwrap().is_finite(), "{k}");
    }
    assert!(r.json["train_gc_correlation"].as_f64().unwrap() > 0.0);
}

#[test]
fn bad_knobs_exit_2_with_one_line() {
    for args in [
        vec!["dynamics", "game", "--algorithm", "adam"],
        vec!["dynamics", "game", "--lr", "-1"],
        vec!["dynamics", "game", "--clip-norm", "0"],
        vec!["dynamics", "game", "--clip-norm", "1", "--clip-value", "1"],
        vec!["dynamics", "symmetry", "--hidden", "1"],
        vec!["dynamics", "symmetry", "--constant", "0"],
        vec!["dynamics", "ood", "--spurious", "1.5"],
        vec!["dynamics", "ood", "--length", "3"],
        vec!["dynamics", "ood", "--mech-restarts", "0"],
    ] {
        let r = run_json(&args);
        assert_eq!(r.code, 2, "{args:?}: {}", r.stderr);
        assert_eq!(r.stderr.lines().count(), 1, "{args:?}");
        assert!(r.json["error"].is_string());
    }
    // Divergence is an internal (numerical) failure, not bad input.
    let r = run_json(&["dynamics", "game", "--lr", "1000", "--steps", "200"]);
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert!(r.json["error"].as_str().unwrap().contains("diverged"));
}
