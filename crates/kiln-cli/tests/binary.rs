//! The real `kiln` process: exit codes and output channels as a shell user sees them.

use std::process::Command;

/// The built `kiln` executable as a child process (the in-process runner is
/// `kiln_cli::testing`; this file checks what only a real process shows: exit status, channels).
fn kiln_process(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_kiln"))
        .args(args)
        .env_remove("KILN_BACKEND")
        .output()
        .expect("the kiln binary runs")
}

#[test]
fn bad_input_exits_2_with_one_json_object() {
    let out = kiln_process(&["--json", "reproduce", "no-such-experiment"]);
    assert_eq!(out.status.code(), Some(2));
    let stdout = String::from_utf8(out.stdout).unwrap();
    let v: serde_json::Value = serde_json::from_str(stdout.trim()).unwrap();
    assert!(v["error"].as_str().unwrap().contains("no-such-experiment"));
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert_eq!(stderr.trim().lines().count(), 1, "{stderr}");
    assert!(!stderr.contains("panicked") && !stderr.contains("RUST_BACKTRACE"));
}

#[test]
fn env_backend_is_honoured_and_validated() {
    let out = Command::new(env!("CARGO_BIN_EXE_kiln"))
        .args(["--json", "backends"])
        .env("KILN_BACKEND", "tpu")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn version_and_help_exit_0() {
    assert_eq!(kiln_process(&["--version"]).status.code(), Some(0));
    let out = kiln_process(&["reproduce", "--help"]);
    assert_eq!(out.status.code(), Some(0));
    assert!(String::from_utf8(out.stdout).unwrap().contains("--quick"));
}

#[test]
fn a_global_kiln_backend_does_not_break_commands_without_tensors() {
    // KILN_BACKEND set for the whole shell (even to a backend this build lacks, or to a name
    // kiln does not know) must not break a subcommand that uses no tensors.
    for value in ["wgpu", "tpu"] {
        let out = Command::new(env!("CARGO_BIN_EXE_kiln"))
            .args([
                "--json",
                "privacy",
                "epsilon",
                "--sampling-rate",
                "0.01",
                "--noise-multiplier",
                "1.1",
                "--steps",
                "100",
                "--delta",
                "1e-5",
            ])
            .env("KILN_BACKEND", value)
            .output()
            .unwrap();
        assert_eq!(
            out.status.code(),
            Some(0),
            "KILN_BACKEND={value}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    // The same for the plain-Rust areas: drift detection and the motif census.
    let dir = tempfile::tempdir().unwrap();
    let stream = dir.path().join("stream.csv");
    std::fs::write(&stream, "0.1\n0.2\n0.3\n0.2\n").unwrap();
    let edges = dir.path().join("g.edges");
    std::fs::write(&edges, "0 1\n1 2\n0 2\n").unwrap();
    let (stream, edges) = (stream.to_str().unwrap(), edges.to_str().unwrap());
    for args in [
        vec![
            "--json",
            "drift",
            "detect",
            "--detector",
            "adwin",
            "--input",
            stream,
        ],
        vec!["--json", "motifs", "census", "--edges", edges],
    ] {
        let out = Command::new(env!("CARGO_BIN_EXE_kiln"))
            .args(&args)
            .env("KILN_BACKEND", "wgpu")
            .output()
            .unwrap();
        assert_eq!(
            out.status.code(),
            Some(0),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}
