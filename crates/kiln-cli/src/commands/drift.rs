//! `kiln drift`: `detect` (run one detector over a stream) and `bench` (the evaluation
//! harness). Both are plain Rust on f64: no tensors, so `--backend`/`KILN_BACKEND` are ignored.

use std::path::PathBuf;

use kiln_core::KilnError;
use kiln_drift::harness::{BenchConfig, BenchReport, bench};
use kiln_drift::{AnyDetector, DetectorKind, DriftError};
use serde_json::json;

use crate::Globals;
use crate::output::{CliError, CmdResult, Output};

/// Arguments of `kiln drift`.
#[derive(Debug, clap::Args)]
#[command(
    about = "Concept-drift detection on loss streams (plain Rust on f64: uses no tensors; \
                   --backend is ignored)"
)]
pub struct Args {
    #[command(subcommand)]
    command: DriftCommand,
}

#[derive(Debug, clap::Subcommand)]
enum DriftCommand {
    /// Run one detector over a one-column CSV stream and print the 0-based indices of its
    /// drift and warning signals. Uses no tensors.
    Detect(DetectArgs),
    /// The evaluation harness: every detector with its defaults (and a do-nothing baseline) on
    /// seeded abrupt, gradual, incremental, recurring, variance-only, error-rate and loss-jump
    /// streams; mean delay, false alarms per 1e5, misses; the targets. Uses no
    /// tensors; --seed is the first stream seed.
    Bench(BenchArgs),
}

#[derive(Debug, clap::Args)]
struct DetectArgs {
    /// adwin, page-hinkley, ddm, eddm, hddm-a, hddm-w, kswin, cusum, ewma, loss-monitor.
    #[arg(long)]
    detector: String,
    /// One-column CSV of the stream (optional header, `#` comments).
    #[arg(long)]
    input: PathBuf,
    /// Override a setting, e.g. `--set delta=0.01 --set mode=up` (repeatable). KSWIN's seed
    /// defaults to --seed.
    #[arg(long = "set", value_name = "NAME=VALUE")]
    set: Vec<String>,
}

#[derive(Debug, clap::Args)]
struct BenchArgs {
    /// Streams per drift scenario.
    #[arg(long, default_value_t = 100)]
    seeds: u64,
    /// Stationary streams (for the false-alarm rate).
    #[arg(long, default_value_t = 10)]
    stationary_seeds: u64,
    /// Length of each stationary stream.
    #[arg(long, default_value_t = 100_000)]
    stationary_len: usize,
}

fn err(e: DriftError) -> CliError {
    CliError::from(KilnError::from(e))
}

/// Runs `kiln drift ...`.
pub fn run(args: &Args, globals: &Globals) -> CmdResult {
    match &args.command {
        DriftCommand::Detect(a) => detect(a, globals),
        DriftCommand::Bench(a) => run_bench(a, globals),
    }
}

fn detect(a: &DetectArgs, globals: &Globals) -> CmdResult {
    let kind: DetectorKind = a.detector.parse().map_err(err)?;
    let mut settings = Vec::with_capacity(a.set.len() + 1);
    for s in &a.set {
        let Some((k, v)) = s.split_once('=') else {
            return Err(CliError::BadInput(format!(
                "--set expects NAME=VALUE, got `{s}`"
            )));
        };
        settings.push((k.trim().to_string(), v.trim().to_string()));
    }
    if kind == DetectorKind::Kswin && !settings.iter().any(|(k, _)| k == "seed") {
        settings.push(("seed".into(), globals.seed.to_string()));
    }
    let stream = kiln_core::io::read_csv_column(&a.input)?;
    let mut detector = AnyDetector::build(kind, &settings).map_err(err)?;
    let report = detector.run_stream(&stream).map_err(err)?;
    let found = &report.detections;
    let j = json!({
        "detector": kind.name(),
        "samples": stream.len(),
        "drifts": found.drifts,
        "warnings": found.warnings,
        "change_points": report.change_points,
    });
    let human = format!(
        "{}: {} samples, {} drifts at {:?}, {} warnings",
        kind.name(),
        stream.len(),
        found.drifts.len(),
        found.drifts,
        found.warnings.len()
    );
    Ok(Output::new(j, human))
}

fn human_table(r: &BenchReport) -> String {
    let mut s = format!(
        "{:<26} {:<14} {:>5} {:>8} {:>6} {:>10} {:>9} {:>8}\n",
        "detector", "scenario", "runs", "detected", "missed", "mean delay", "FA/1e5", "FA runs"
    );
    for row in &r.rows {
        s += &format!(
            "{:<26} {:<14} {:>5} {:>8} {:>6} {:>10} {:>9.2} {:>8}\n",
            row.detector,
            row.scenario,
            row.runs,
            row.detected,
            row.missed,
            row.mean_delay.map_or("-".into(), |d| format!("{d:.1}")),
            row.false_alarms_per_1e5,
            row.runs_with_false_alarm
        );
    }
    for t in &r.targets {
        s += &format!(
            "[{}] {}: {} (goal: {})\n",
            if t.met { "met" } else { "NOT met" },
            t.name,
            t.measured,
            t.goal
        );
    }
    s
}

fn run_bench(a: &BenchArgs, globals: &Globals) -> CmdResult {
    let cfg = BenchConfig {
        seeds: a.seeds,
        stationary_seeds: a.stationary_seeds,
        stationary_len: a.stationary_len,
        base_seed: globals.seed,
    };
    let report = bench(&cfg).map_err(err)?;
    let j = serde_json::to_value(&report).map_err(|e| CliError::Internal(e.to_string()))?;
    Ok(Output::new(j, human_table(&report)))
}
