//! Calibration: the smallest noise multiplier, the largest sampling rate or the most steps
//! that meet a target (epsilon, delta), by bracketing and bisection.
//!
//! Epsilon is monotone in each of these (decreasing in sigma, increasing in q and steps), so
//! bisection converges; the answer is always the end of the final bracket that meets the
//! target, so it is on the safe side, and the bracket's relative width is below `rel_tol`.

use serde::Serialize;

use crate::accountant::{AccountantKind, epsilon};
use crate::errors::{PrivacyError, Result};
use crate::event::{Ledger, check_delta, check_q, check_sigma};

/// A calibrated value and what it achieves.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Calibration {
    /// The value (meets the target).
    pub value: f64,
    /// Epsilon at `value`.
    pub epsilon: f64,
    /// Final bracket (one end meets the target, the other does not).
    pub bracket: (f64, f64),
    /// Accountant evaluations used.
    pub evaluations: usize,
}

fn check_target(eps: f64, rel_tol: f64) -> Result<()> {
    if !(eps.is_finite() && eps > 0.0) {
        return Err(PrivacyError::invalid(
            "target_epsilon",
            eps,
            "must be finite and > 0",
        ));
    }
    if !(rel_tol > 0.0 && rel_tol < 0.5) {
        return Err(PrivacyError::invalid(
            "rel_tol",
            rel_tol,
            "must be in (0, 0.5)",
        ));
    }
    Ok(())
}

/// Smallest noise multiplier with `epsilon(q, sigma, steps, delta) <= target`, to `rel_tol`.
pub fn noise_multiplier(
    kind: AccountantKind,
    q: f64,
    steps: u64,
    delta: f64,
    target: f64,
    rel_tol: f64,
) -> Result<Calibration> {
    check_q(q)?;
    check_delta(delta)?;
    check_target(target, rel_tol)?;
    if steps == 0 {
        return Err(PrivacyError::invalid("steps", 0, "must be >= 1"));
    }
    let mut evals = 0;
    let mut eps = |s: f64| -> Result<f64> {
        evals += 1;
        epsilon(kind, &Ledger::dp_sgd(q, s, steps)?, delta)
    };
    let mut lo;
    let mut hi = 1.0;
    let mut e_hi = eps(hi)?;
    if e_hi <= target {
        // Walk down until the target fails.
        loop {
            lo = hi / 2.0;
            if lo < 1e-3 {
                return Err(PrivacyError::Unreachable(format!(
                    "even noise multiplier {lo} meets epsilon {target}; the target is too loose"
                )));
            }
            let e_lo = eps(lo)?;
            if e_lo > target {
                break;
            }
            hi = lo;
            e_hi = e_lo;
        }
    } else {
        loop {
            lo = hi;
            hi *= 2.0;
            if hi > 1e5 {
                return Err(PrivacyError::Unreachable(format!(
                    "no noise multiplier below 1e5 reaches epsilon {target}"
                )));
            }
            e_hi = eps(hi)?;
            if e_hi <= target {
                break;
            }
        }
    }
    while hi / lo - 1.0 > rel_tol {
        let mid = (lo * hi).sqrt();
        let e = eps(mid)?;
        if e <= target {
            hi = mid;
            e_hi = e;
        } else {
            lo = mid;
        }
    }
    check_sigma(hi)?;
    Ok(Calibration {
        value: hi,
        epsilon: e_hi,
        bracket: (lo, hi),
        evaluations: evals,
    })
}

/// Largest sampling rate in (0, 1] with `epsilon <= target`, to `rel_tol`.
pub fn sampling_rate(
    kind: AccountantKind,
    sigma: f64,
    steps: u64,
    delta: f64,
    target: f64,
    rel_tol: f64,
) -> Result<Calibration> {
    check_sigma(sigma)?;
    check_delta(delta)?;
    check_target(target, rel_tol)?;
    let mut evals = 0;
    let mut eps = |q: f64| -> Result<f64> {
        evals += 1;
        epsilon(kind, &Ledger::dp_sgd(q, sigma, steps)?, delta)
    };
    let e1 = eps(1.0)?;
    if e1 <= target {
        return Ok(Calibration {
            value: 1.0,
            epsilon: e1,
            bracket: (1.0, 1.0),
            evaluations: evals,
        });
    }
    let mut hi = 1.0;
    let mut lo = 0.5;
    let mut e_lo = eps(lo)?;
    while e_lo > target {
        hi = lo;
        lo /= 2.0;
        if lo < 1e-9 {
            return Err(PrivacyError::Unreachable(format!(
                "no sampling rate above 1e-9 reaches epsilon {target}"
            )));
        }
        e_lo = eps(lo)?;
    }
    while hi / lo - 1.0 > rel_tol {
        let mid = (lo * hi).sqrt();
        let e = eps(mid)?;
        if e <= target {
            lo = mid;
            e_lo = e;
        } else {
            hi = mid;
        }
    }
    Ok(Calibration {
        value: lo,
        epsilon: e_lo,
        bracket: (lo, hi),
        evaluations: evals,
    })
}

/// Most steps with `epsilon <= target` (exact integer search).
pub fn steps(
    kind: AccountantKind,
    q: f64,
    sigma: f64,
    delta: f64,
    target: f64,
) -> Result<Calibration> {
    check_q(q)?;
    check_sigma(sigma)?;
    check_delta(delta)?;
    check_target(target, 0.1)?;
    let mut evals = 0;
    let mut eps = |n: u64| -> Result<f64> {
        evals += 1;
        epsilon(kind, &Ledger::dp_sgd(q, sigma, n)?, delta)
    };
    let e1 = eps(1)?;
    if e1 > target {
        return Err(PrivacyError::Unreachable(format!(
            "a single step already costs epsilon {e1} > {target}"
        )));
    }
    let (mut lo, mut e_lo) = (1u64, e1);
    let mut hi = 2u64;
    loop {
        let e = eps(hi)?;
        if e > target {
            break;
        }
        lo = hi;
        e_lo = e;
        hi *= 2;
        if hi > 1 << 40 {
            return Err(PrivacyError::Unreachable("more than 2^40 steps".into()));
        }
    }
    while hi - lo > 1 {
        let mid = lo + (hi - lo) / 2;
        let e = eps(mid)?;
        if e <= target {
            lo = mid;
            e_lo = e;
        } else {
            hi = mid;
        }
    }
    Ok(Calibration {
        value: lo as f64,
        epsilon: e_lo,
        bracket: (lo as f64, hi as f64),
        evaluations: evals,
    })
}
