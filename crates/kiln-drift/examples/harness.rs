//! Prints the evaluation harness table (`cargo run -p kiln-drift --example harness -- SEEDS`).

use kiln_drift::harness::{BenchConfig, bench};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let seeds = std::env::args().nth(1).map_or(Ok(20), |s| s.parse())?;
    let cfg = BenchConfig {
        seeds,
        stationary_seeds: (seeds / 10).max(1),
        ..BenchConfig::default()
    };
    let report = bench(&cfg)?;
    println!(
        "{:<14} {:<14} {:>5} {:>9} {:>7} {:>10} {:>9}",
        "detector", "scenario", "runs", "detected", "missed", "mean delay", "FA/1e5"
    );
    for r in &report.rows {
        println!(
            "{:<14} {:<14} {:>5} {:>9} {:>7} {:>10} {:>9.2}",
            r.detector,
            r.scenario,
            r.runs,
            r.detected,
            r.missed,
            r.mean_delay.map_or("-".into(), |d| format!("{d:.1}")),
            r.false_alarms_per_1e5
        );
    }
    for t in &report.targets {
        println!(
            "[{}] {} | goal: {} | measured: {}",
            if t.met { "met" } else { "NOT met" },
            t.name,
            t.goal,
            t.measured
        );
    }
    Ok(())
}
