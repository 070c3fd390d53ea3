//! Running the program in-process, for tests: one helper instead of a private copy per test file.

use serde_json::Value;

/// What one in-process run of `kiln` printed and returned.
#[derive(Debug, Clone)]
pub struct Ran {
    /// The exit code [`crate::run`] returned.
    pub code: i32,
    /// Everything written to stdout.
    pub stdout: String,
    /// Everything written to stderr.
    pub stderr: String,
    /// stdout parsed as one JSON value (`Value::Null` when it is not JSON).
    pub json: Value,
}

/// Runs `kiln ARGS` in-process (no `--json` added) and captures what it printed.
pub fn run_args(args: &[&str]) -> Ran {
    let mut out = Vec::new();
    let mut err = Vec::new();
    let mut argv = vec!["kiln"];
    argv.extend_from_slice(args);
    let code = crate::run(argv, &mut out, &mut err);
    let stdout = String::from_utf8_lossy(&out).into_owned();
    let stderr = String::from_utf8_lossy(&err).into_owned();
    let json = serde_json::from_str(stdout.trim()).unwrap_or(Value::Null);
    Ran {
        code,
        stdout,
        stderr,
        json,
    }
}

/// Runs `kiln --json ARGS` in-process.
pub fn run_json(args: &[&str]) -> Ran {
    let mut argv = vec!["--json"];
    argv.extend_from_slice(args);
    run_args(&argv)
}

/// Writes `contents` to `name` inside `dir` and returns the path as a string for an argument.
pub fn write_file(dir: &std::path::Path, name: &str, contents: impl AsRef<[u8]>) -> String {
    let path = dir.join(name);
    std::fs::write(&path, contents).expect("test file is writable");
    path.to_string_lossy().into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bad_input_is_one_line_and_exit_2() {
        let r = run_json(&["--no-such-flag"]);
        assert_eq!(r.code, 2);
        assert_eq!(r.stderr.lines().count(), 1, "{}", r.stderr);
        assert!(r.json["error"].is_string());
    }
}
