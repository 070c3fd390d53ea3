//! The Abadi et al. 2016 setting (q = 0.01, sigma = 4, 10^4 steps, delta = 1e-5) under every
//! accountant, the PLD bracket, a calibration and an audit.
//!
//! `cargo run --release -p kiln-privacy --example abadi`

use kiln_privacy::accountant::pld_bracket;
use kiln_privacy::audit::{Sampling, TrainingPlan, audit};
use kiln_privacy::calibrate::{CalibrationParams, Unknown, calibrate};
use kiln_privacy::{AccountantKind, BatchSampling, Ledger, epsilon};

fn main() -> Result<(), kiln_privacy::PrivacyError> {
    let ledger = Ledger::steps(&BatchSampling::poisson(0.01), 4.0, 10_000)?;
    // Wall times are indicative only (the criterion benches are the measurement).
    let ms = |t: std::time::Instant| t.elapsed().as_secs_f64() * 1e3;
    for kind in AccountantKind::ALL {
        let t = std::time::Instant::now();
        let e = epsilon(kind, &ledger, 1e-5)?;
        println!("{:<9} epsilon = {e:.4}  ({:.1} ms)", kind.name(), ms(t));
    }
    let t = std::time::Instant::now();
    let e = epsilon(
        AccountantKind::Pld,
        &Ledger::steps(&BatchSampling::poisson(0.01), 1.1, 10_000)?,
        1e-5,
    )?;
    println!(
        "pld, q 0.01 sigma 1.1 1e4 steps: epsilon = {e:.4}  ({:.1} ms)",
        ms(t)
    );
    let t = std::time::Instant::now();
    let rdp_cal = sigma_for_epsilon_1(AccountantKind::Rdp, 1e-4)?;
    println!(
        "rdp calibration for epsilon 1: sigma {:.4}  ({:.1} ms)",
        rdp_cal.value,
        ms(t)
    );
    let t = std::time::Instant::now();
    let c = sigma_for_epsilon_1(AccountantKind::Pld, 1e-3)?;
    println!(
        "pld calibration for epsilon 1: sigma {:.4}  ({:.1} ms)",
        c.value,
        ms(t)
    );
    let (lo, hi) = pld_bracket(&ledger, 1e-5)?;
    println!("PLD bracket on the true epsilon: [{lo:.4}, {hi:.4}]");
    let prv = kiln_privacy::PrvParams::new()
        .check()?
        .epsilon(&ledger, 1e-5)?;
    println!(
        "PRV certified bracket: [{:.4}, {:.4}], estimate {:.4} (eps_error {})",
        prv.lower, prv.upper, prv.estimate, prv.eps_error
    );
    let c = &rdp_cal;
    println!(
        "noise multiplier for epsilon 1: {:.4} (achieves {:.4})",
        c.value, c.epsilon
    );
    let plan = TrainingPlan {
        dataset_size: 60_000,
        batch_size: 600,
        epochs: Some(100.0),
        steps: None,
        noise_multiplier: 4.0,
        sampling: Sampling::Shuffle,
        delta: 1e-5,
        claimed_epsilon: 1.26,
        accounted_with: AccountantKind::Rdp,
    };
    println!(
        "audit of the same run with shuffled batches: {}",
        audit(&plan.check()?)?.verdict
    );
    Ok(())
}

/// The smallest noise multiplier meeting epsilon 1 at delta 1e-5 for the Abadi sampling rate
/// and step count, to relative tolerance `tol`.
fn sigma_for_epsilon_1(
    kind: AccountantKind,
    tol: f64,
) -> Result<kiln_privacy::calibrate::Calibration, kiln_privacy::PrivacyError> {
    calibrate(
        &CalibrationParams::new(Unknown::NoiseMultiplier)
            .accountant(kind)
            .sampling(BatchSampling::poisson(0.01))
            .steps(10_000)
            .delta(1e-5)
            .target_epsilon(1.0)
            .tolerance(tol)
            .check()?,
    )
}
