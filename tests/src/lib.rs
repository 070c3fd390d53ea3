//! Helpers for kiln's cross-crate integration tests (in `tests/tests/`).

use std::path::PathBuf;

/// `tests/data/`, where the reference vectors the tests read are kept.
pub fn data_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("data")
}

/// What one in-process `kiln` invocation produced.
#[derive(Debug)]
pub struct Run {
    /// Exit code.
    pub code: i32,
    /// Everything written to stdout.
    pub stdout: String,
    /// Everything written to stderr.
    pub stderr: String,
}

impl Run {
    /// Parses stdout as exactly one JSON object, panicking with the output if it is not.
    pub fn json(&self) -> serde_json::Value {
        let v: serde_json::Value = serde_json::from_str(self.stdout.trim())
            .unwrap_or_else(|e| panic!("stdout is not one JSON value ({e}): {:?}", self.stdout));
        assert!(v.is_object(), "stdout JSON is not an object: {v}");
        v
    }
}

/// Runs the `kiln` program in-process with `args` (without the program name).
pub fn kiln(args: &[&str]) -> Run {
    let mut out = Vec::new();
    let mut err = Vec::new();
    let argv = std::iter::once("kiln").chain(args.iter().copied());
    let code = kiln_cli::run(argv, &mut out, &mut err);
    Run {
        code,
        stdout: String::from_utf8(out).expect("utf-8 stdout"),
        stderr: String::from_utf8(err).expect("utf-8 stderr"),
    }
}
