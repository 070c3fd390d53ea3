//! The seed experiment from Rust: `cargo run -p kiln-drift --example spam_filter [-- --full]`
//! (the CLI runs the same with `kiln reproduce drift [--quick]`).

use kiln_core::ExperimentConfig;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let full = std::env::args().any(|a| a == "--full");
    let config = ExperimentConfig {
        quick: !full,
        ..ExperimentConfig::default()
    };
    let report = kiln_drift::experiment::run(&config)?;
    for m in &report.metrics {
        println!("{:<45} {:>10.4} {}", m.name, m.value, m.unit);
    }
    for n in &report.notes {
        println!("- {n}");
    }
    Ok(())
}
