//! Checks the autodiff gradient of a small function against finite differences.
//!
//! `cargo run -p kiln-core --example grad_check`

use kiln_core::{Autodiff, BackendKind, GradCheckConfig, Precision, device, grad_check};

fn main() -> Result<(), kiln_core::KilnError> {
    let dev = device(BackendKind::from_env()?, Autodiff::Off, Precision::F32)?;
    // f(x) = sum(sin(x) * x^2)
    let x = [0.3, -1.2, 2.5, 0.0];
    let report = grad_check(
        |t| (t.clone().sin() * t.clone() * t).sum(),
        &x,
        [4],
        &dev,
        &GradCheckConfig::default(),
    )?;
    println!("{report}");
    for (a, n) in report.analytic.iter().zip(&report.numeric) {
        println!("  autodiff {a:>14.9}   finite difference {n:>14.9}");
    }
    Ok(())
}
