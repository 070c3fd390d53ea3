//! The three reference grid points where prv_accountant 0.2.0 raised "Discrete mean differs
//! from continuous mean significantly" (q 0.256, sigma 0.5 / 0.8 / 1.1, 1000 steps, delta
//! 1e-5), answered by kiln's PRV accountant next to dp_accounting's PLD values.
//!
//! `cargo run -p kiln-privacy --example prv_crash_points`

use kiln_privacy::{BatchSampling, Ledger, PrvParams};

fn main() -> Result<(), kiln_privacy::PrivacyError> {
    // (sigma, dp_accounting 0.6 PLD epsilon from tests/data).
    for (sigma, pld) in [(0.5, 379.82769_f64), (0.8, 132.77007), (1.1, 71.37578)] {
        let ledger = Ledger::single(BatchSampling::poisson(0.256).event(sigma)?, 1000)?;
        let r = PrvParams::new().check()?.epsilon(&ledger, 1e-5)?;
        println!(
            "q 0.256 sigma {sigma} 1000 steps: [{:.4}, {:.4}] estimate {:.4} ({} points), \
             dp_accounting PLD {pld:.4}",
            r.lower, r.upper, r.estimate, r.grid_points
        );
    }
    Ok(())
}
