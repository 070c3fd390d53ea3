//! `kiln pinn solve`: JSON contract, small runs, bad input.

use kiln_cli::testing::{Ran, run_args};

#[test]
fn solve_poisson_prints_the_json_contract() {
    let Ran {
        code,
        stdout: out,
        stderr: err,
        ..
    } = run_args(&[
        "--json",
        "pinn",
        "solve",
        "--problem",
        "poisson1d",
        "--adam-steps",
        "30",
        "--lbfgs-steps",
        "10",
        "--collocation",
        "32",
    ]);
    assert_eq!(code, 0, "stderr: {err}");
    let v: serde_json::Value = serde_json::from_str(out.trim()).unwrap();
    for key in [
        "problem",
        "l2_relative_error",
        "stop_reason",
        "adam_steps",
        "lbfgs_steps",
        "seconds",
        "final_loss",
    ] {
        assert!(v.get(key).is_some(), "missing {key} in {v}");
    }
    assert_eq!(v["problem"], "poisson1d");
    assert_eq!(v["adam_steps"], 30);
    assert!(v["lbfgs_steps"].as_u64().unwrap() <= 10);
    let l2 = v["l2_relative_error"].as_f64().unwrap();
    assert!(l2.is_finite() && l2 > 0.0);
    let stop = v["stop_reason"].as_str().unwrap();
    assert!(
        [
            "max_iterations",
            "max_evaluations",
            "gradient_tolerance",
            "change_tolerance",
            "line_search_failure"
        ]
        .contains(&stop),
        "{stop}"
    );
}

#[test]
fn solve_burgers_in_f32_with_few_steps() {
    let Ran {
        code,
        stdout: out,
        stderr: err,
        ..
    } = run_args(&[
        "--json",
        "pinn",
        "solve",
        "--problem",
        "burgers",
        "--adam-steps",
        "5",
        "--lbfgs-steps",
        "0",
        "--precision",
        "f32",
        "--collocation",
        "64",
    ]);
    assert_eq!(code, 0, "stderr: {err}");
    let v: serde_json::Value = serde_json::from_str(out.trim()).unwrap();
    assert_eq!(v["problem"], "burgers");
    assert_eq!(v["lbfgs_steps"], 0);
    assert_eq!(v["stop_reason"], "max_iterations");
    // An untrained network is far from the Cole-Hopf solution.
    assert!(v["l2_relative_error"].as_f64().unwrap() > 1e-2);
}

#[test]
fn unknown_problem_is_bad_input() {
    let Ran {
        code,
        stdout: out,
        stderr: err,
        ..
    } = run_args(&["--json", "pinn", "solve", "--problem", "navier"]);
    assert_eq!(code, 2);
    assert!(err.contains("navier"), "{err}");
    let v: serde_json::Value = serde_json::from_str(out.trim()).unwrap();
    assert!(v["error"].as_str().unwrap().contains("burgers"));
}

#[test]
fn bad_precision_and_sizes_are_bad_input() {
    let Ran { code, .. } = run_args(&[
        "--json",
        "pinn",
        "solve",
        "--problem",
        "heat",
        "--precision",
        "f16",
    ]);
    assert_eq!(code, 2);
    let Ran {
        code, stderr: err, ..
    } = run_args(&[
        "--json",
        "pinn",
        "solve",
        "--problem",
        "heat",
        "--collocation",
        "0",
    ]);
    assert_eq!(code, 2, "{err}");
}

#[test]
fn time_limit_stops_lbfgs_with_its_own_reason() {
    let Ran {
        code,
        stdout: out,
        stderr: err,
        ..
    } = run_args(&[
        "--json",
        "pinn",
        "solve",
        "--problem",
        "burgers",
        "--adam-steps",
        "2",
        "--lbfgs-steps",
        "50",
        "--collocation",
        "64",
        "--time-limit",
        "0.001",
    ]);
    assert_eq!(code, 0, "stderr: {err}");
    let v: serde_json::Value = serde_json::from_str(out.trim()).unwrap();
    assert_eq!(v["stop_reason"], "time_limit");
    assert_eq!(v["lbfgs_steps"], 1);
    assert_eq!(v["time_limit_s"], 0.001);
    assert_eq!(v["n_collocation"], 64);
    let Ran { code, .. } = run_args(&[
        "--json",
        "pinn",
        "solve",
        "--problem",
        "burgers",
        "--time-limit",
        "-1",
    ]);
    assert_eq!(code, 2);
}
