//! Solve 1D Poisson with a PINN (Adam then L-BFGS in f64) and print the error and stop reason.
//!
//! `cargo run --release -p kiln-pinn --example poisson`

use kiln_core::BackendKind;
use kiln_core::experiment::NoProgress;
use kiln_pinn::{ProblemKind, ProblemOptions, presets, solve};

fn main() -> Result<(), kiln_pinn::PinnError> {
    let params = presets::recommended(ProblemKind::Poisson1d).check()?;
    let (report, _pinn) = solve(
        ProblemKind::Poisson1d,
        &ProblemOptions::default(),
        &params,
        BackendKind::Flex,
        &NoProgress,
    )?;
    println!(
        "poisson1d: relative L2 {:.3e}, stopped by {} after {} Adam + {} L-BFGS steps ({:.1} s)",
        report.l2_relative_error,
        report.train.stop_reason,
        report.train.adam.steps,
        report.train.lbfgs.steps,
        report.train.seconds
    );
    Ok(())
}
