//! Calibration: the smallest noise multiplier, the largest sampling rate or the most steps
//! that meet a target (epsilon, delta), by bracketing and bisection.
//!
//! Epsilon is monotone in each of these (decreasing in sigma, increasing in q and steps), so
//! bisection converges; the answer is always the end of the final bracket that meets the
//! target, so it is on the safe side, and the bracket's relative width is below `rel_tol`.

use serde::Serialize;

use crate::accountant::{AccountantKind, epsilon};
use crate::errors::{PrivacyError, Result};
use crate::event::{BatchSampling, DpEvent, Ledger, check_delta, check_q, check_sigma};
use crate::hyperparams::{Conversion, RdpParams};
use crate::rdp::{RdpAccountant, epsilon_at_order, rdp_event, round_up};

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

/// Smallest noise multiplier with `epsilon(q, sigma, steps, delta) <= target`, to `rel_tol`
/// (Poisson sampling; see [`noise_multiplier_for`] for fixed-size batches).
pub fn noise_multiplier(
    kind: AccountantKind,
    q: f64,
    steps: u64,
    delta: f64,
    target: f64,
    rel_tol: f64,
) -> Result<Calibration> {
    check_q(q)?;
    let sampling = BatchSampling::Poisson { sampling_rate: q };
    noise_multiplier_for(kind, &sampling, steps, delta, target, rel_tol)
}

/// Smallest noise multiplier with `epsilon <= target` after `steps` steps of `sampling`, to
/// `rel_tol`.
///
/// For RDP the search evaluates only the few orders around the current optimum, found by a
/// local walk along the order list from the previous one (fewer orders can only raise
/// epsilon, so a bracket end that meets the target this way meets it with all orders), then
/// confirms the failing end with every order; if a better order was missed there, it falls
/// back to the search with every order. The answer is therefore that of a search with every
/// order, with two full evaluations instead of ~20.
pub fn noise_multiplier_for(
    kind: AccountantKind,
    sampling: &BatchSampling,
    steps: u64,
    delta: f64,
    target: f64,
    rel_tol: f64,
) -> Result<Calibration> {
    sampling.check()?;
    check_delta(delta)?;
    check_target(target, rel_tol)?;
    if steps == 0 {
        return Err(PrivacyError::invalid("steps", 0, "must be >= 1"));
    }
    if kind == AccountantKind::Rdp {
        return rdp_noise_multiplier(sampling, steps, delta, target, rel_tol);
    }
    let mut evals = 0;
    let eps = |s: f64| -> Result<f64> {
        evals += 1;
        epsilon(kind, &Ledger::steps(sampling, s, steps)?, delta)
    };
    let (lo, hi, e_hi) = search_sigma(eps, target, rel_tol)?;
    check_sigma(hi)?;
    Ok(Calibration {
        value: hi,
        epsilon: e_hi,
        bracket: (lo, hi),
        evaluations: evals,
    })
}

/// Orders the local search keeps evaluated on each side of its best order.
const ORDER_MARGIN: usize = 2;

/// Epsilon of `steps` repetitions of `event` at one order, exactly as [`RdpAccountant`]
/// computes it for a one-entry ledger (improved conversion, rounded up).
fn eps_at_order(event: &DpEvent, steps: u64, alpha: f64, delta: f64) -> Result<f64> {
    let (r, _) = rdp_event(event, alpha);
    let total = steps as f64 * r;
    if total.is_nan() {
        return Err(PrivacyError::RdpOrder {
            order: alpha,
            reason: "RDP evaluated to NaN".into(),
        });
    }
    Ok(round_up(
        epsilon_at_order(alpha, total, delta, Conversion::Improved).max(0.0),
    ))
}

/// Local search over the order list for the order minimizing epsilon, starting at
/// `*center`: walks towards smaller epsilon until the best order has `ORDER_MARGIN`
/// evaluated orders on each side. Returns the smallest epsilon seen (an upper bound on the
/// minimum over every order) and moves `*center` to its order.
fn eps_local(
    event: &DpEvent,
    steps: u64,
    orders: &[f64],
    delta: f64,
    center: &mut usize,
) -> Result<f64> {
    let n = orders.len();
    let mut lo = center.saturating_sub(ORDER_MARGIN);
    let mut hi = (*center + ORDER_MARGIN).min(n - 1);
    let mut vals = Vec::with_capacity(2 * ORDER_MARGIN + 1);
    for &a in &orders[lo..=hi] {
        vals.push(eps_at_order(event, steps, a, delta)?);
    }
    loop {
        let (best, &e) = vals
            .iter()
            .enumerate()
            .min_by(|a, b| a.1.total_cmp(b.1))
            .expect("at least one order");
        let at = lo + best;
        if at < lo + ORDER_MARGIN && lo > 0 {
            lo -= 1;
            vals.insert(0, eps_at_order(event, steps, orders[lo], delta)?);
        } else if at + ORDER_MARGIN > hi && hi + 1 < n {
            hi += 1;
            vals.push(eps_at_order(event, steps, orders[hi], delta)?);
        } else {
            *center = at;
            return Ok(e);
        }
    }
}

fn rdp_noise_multiplier(
    sampling: &BatchSampling,
    steps: u64,
    delta: f64,
    target: f64,
    rel_tol: f64,
) -> Result<Calibration> {
    let full = RdpAccountant::new(RdpParams::new().check()?);
    let orders = full.orders().to_vec();
    let mut evals = 0;
    let full_eps = |s: f64, evals: &mut usize| -> Result<f64> {
        *evals += 1;
        Ok(full
            .epsilon(&Ledger::steps(sampling, s, steps)?, delta)?
            .epsilon)
    };
    // Start the local search at order 10 (a typical optimum of DP-SGD plans).
    let mut center = orders.iter().position(|&o| o >= 10.0).unwrap_or(0);
    let local = |s: f64| -> Result<f64> {
        evals += 1;
        eps_local(&sampling.event(s)?, steps, &orders, delta, &mut center)
    };
    let searched = search_sigma(local, target, rel_tol);
    if let Ok((lo, hi, _)) = searched {
        // hi meets the target with some orders, hence with all; confirm lo fails with all.
        if full_eps(lo, &mut evals)? > target {
            let e_hi = full_eps(hi, &mut evals)?;
            check_sigma(hi)?;
            return Ok(Calibration {
                value: hi,
                epsilon: e_hi,
                bracket: (lo, hi),
                evaluations: evals,
            });
        }
    }
    let (lo, hi, e_hi) = search_sigma(|s| full_eps(s, &mut evals), target, rel_tol)?;
    check_sigma(hi)?;
    Ok(Calibration {
        value: hi,
        epsilon: e_hi,
        bracket: (lo, hi),
        evaluations: evals,
    })
}

/// Brackets and bisects (geometrically) the smallest sigma with `eps(sigma) <= target`;
/// returns `(lo, hi, eps(hi))` with `eps(lo) > target >= eps(hi)` and `hi / lo - 1 <= rel_tol`.
fn search_sigma(
    mut eps: impl FnMut(f64) -> Result<f64>,
    target: f64,
    rel_tol: f64,
) -> Result<(f64, f64, f64)> {
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
    Ok((lo, hi, e_hi))
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
