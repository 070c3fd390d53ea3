//! `cargo xtask`: kiln's workflows in Rust instead of shell scripts.
//!
//! ```text
//! cargo xtask ci                 what .ci/run runs: fmt --check, clippy -D warnings, the
//!                                Burn-free accountant build, docs with warnings denied, then
//!                                the README test command
//! cargo xtask reproduce [ARGS]   release build, then `kiln reproduce ARGS`
//! cargo xtask bench [AREA]       criterion benches (all, or one area) and a summary table
//! cargo xtask backends           check the Vulkan driver, run backend parity on flex/ndarray/wgpu
//! ```

use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};

/// The README's test command; `.ci/run` and `cargo xtask ci` run exactly this.
const TEST_COMMAND: &[&str] = &["test", "--workspace"];

const AREAS: &[&str] = &[
    "core", "losses", "norm", "ctc", "pinn", "motifs", "privacy", "drift", "dynamics",
];

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("xtask lives one level below the workspace root")
        .to_path_buf()
}

fn cargo(args: &[&str]) -> Result<(), String> {
    eprintln!("$ cargo {}", args.join(" "));
    let status = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
        .args(args)
        .current_dir(root())
        .status()
        .map_err(|e| format!("cannot run cargo: {e}"))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("`cargo {}` failed ({status})", args.join(" ")))
    }
}

fn ci() -> Result<(), String> {
    cargo(&["fmt", "--all", "--", "--check"])?;
    cargo(&[
        "clippy",
        "--workspace",
        "--all-targets",
        "--",
        "-D",
        "warnings",
    ])?;
    // The plain-Rust cores build without Burn.
    cargo(&[
        "check",
        "-p",
        "kiln-privacy",
        "-p",
        "kiln-drift",
        "-p",
        "kiln-motifs",
        "--no-default-features",
    ])?;
    // RUSTDOCFLAGS for this one step only (set on the child, as .ci/run does).
    cargo_env(
        &["doc", "--workspace", "--no-deps"],
        ("RUSTDOCFLAGS", "-D warnings"),
    )?;
    cargo(TEST_COMMAND)
}

fn cargo_env(args: &[&str], env: (&str, &str)) -> Result<(), String> {
    eprintln!("$ {}={:?} cargo {}", env.0, env.1, args.join(" "));
    let status = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
        .args(args)
        .env(env.0, env.1)
        .current_dir(root())
        .status()
        .map_err(|e| format!("cannot run cargo: {e}"))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("`cargo {}` failed ({status})", args.join(" ")))
    }
}

fn reproduce(args: &[String]) -> Result<(), String> {
    cargo(&["build", "--release", "--package", "kiln-cli"])?;
    let exe = root().join("target/release/kiln");
    eprintln!("$ {} reproduce {}", exe.display(), args.join(" "));
    let status = Command::new(&exe)
        .arg("reproduce")
        .args(args)
        .status()
        .map_err(|e| format!("cannot run {}: {e}", exe.display()))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("kiln reproduce failed ({status})"))
    }
}

fn bench(area: Option<&str>) -> Result<(), String> {
    match area {
        Some(a) if !AREAS.contains(&a) => {
            return Err(format!("unknown area `{a}`; one of: {}", AREAS.join(", ")));
        }
        Some(a) => cargo(&["bench", "--package", &format!("kiln-{a}")])?,
        None => cargo(&[
            "bench",
            "--workspace",
            "--exclude",
            "xtask",
            "--exclude",
            "kiln-cli",
        ])?,
    }
    print_bench_table(&root().join("target/criterion"));
    Ok(())
}

/// Prints one row per criterion benchmark found under `dir`: id, mean and its 95% interval.
fn print_bench_table(dir: &Path) {
    let mut rows = Vec::new();
    collect_estimates(dir, &mut rows);
    rows.sort_by(|a, b| a.0.cmp(&b.0));
    if rows.is_empty() {
        println!("no criterion results under {}", dir.display());
        return;
    }
    let width = rows.iter().map(|r| r.0.len()).max().unwrap_or(10).max(9);
    println!(
        "{:<width$}  {:>12}  {:>25}",
        "benchmark", "mean", "95% interval"
    );
    for (id, mean, lo, hi) in rows {
        println!(
            "{id:<width$}  {:>12}  {:>25}",
            fmt_ns(mean),
            format!("[{} .. {}]", fmt_ns(lo), fmt_ns(hi))
        );
    }
}

type Row = (String, f64, f64, f64);

fn collect_estimates(dir: &Path, rows: &mut Vec<Row>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            if path.file_name().is_some_and(|n| n == "new") {
                if let Some(row) = read_estimate(&path) {
                    rows.push(row);
                }
            } else if path
                .file_name()
                .is_some_and(|n| n != "report" && n != "base")
            {
                collect_estimates(&path, rows);
            }
        }
    }
}

fn read_estimate(new_dir: &Path) -> Option<Row> {
    let bench: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(new_dir.join("benchmark.json")).ok()?)
            .ok()?;
    let est: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(new_dir.join("estimates.json")).ok()?)
            .ok()?;
    let mean = &est["mean"];
    Some((
        bench["full_id"].as_str()?.to_string(),
        mean["point_estimate"].as_f64()?,
        mean["confidence_interval"]["lower_bound"].as_f64()?,
        mean["confidence_interval"]["upper_bound"].as_f64()?,
    ))
}

fn fmt_ns(ns: f64) -> String {
    match ns {
        n if n >= 1e9 => format!("{:.3} s", n / 1e9),
        n if n >= 1e6 => format!("{:.3} ms", n / 1e6),
        n if n >= 1e3 => format!("{:.3} µs", n / 1e3),
        n => format!("{n:.1} ns"),
    }
}

/// Vulkan ICD manifests: a software (lavapipe) or hardware driver must be registered for wgpu.
fn vulkan_drivers() -> Vec<PathBuf> {
    [
        "/usr/share/vulkan/icd.d",
        "/etc/vulkan/icd.d",
        "/usr/local/share/vulkan/icd.d",
    ]
    .iter()
    .filter_map(|d| std::fs::read_dir(d).ok())
    .flat_map(|rd| rd.flatten().map(|e| e.path()))
    .filter(|p| p.extension().is_some_and(|e| e == "json"))
    .collect()
}

fn backends() -> Result<(), String> {
    let drivers = vulkan_drivers();
    if drivers.is_empty() {
        return Err(
            "no Vulkan driver found (no ICD manifest under /usr/share/vulkan/icd.d); \
                    on Debian/Ubuntu install Mesa's software driver with \
                    `apt-get install mesa-vulkan-drivers` and rerun"
                .into(),
        );
    }
    for d in &drivers {
        eprintln!("vulkan driver: {}", d.display());
    }
    cargo(&[
        "test",
        "--package",
        "kiln-tests",
        "--features",
        "ndarray,wgpu",
        "--test",
        "backend_parity",
        "--",
        "--nocapture",
    ])
}

fn usage() -> String {
    "usage: cargo xtask <ci | reproduce [ARGS...] | bench [AREA] | backends>".into()
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("ci") => ci(),
        Some("reproduce") => reproduce(&args[1..]),
        Some("bench") => bench(args.get(1).map(String::as_str)),
        Some("backends") => backends(),
        _ => Err(usage()),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("xtask: {e}");
            ExitCode::FAILURE
        }
    }
}
