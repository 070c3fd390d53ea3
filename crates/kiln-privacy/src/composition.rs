//! The composition theorems: basic (epsilons and deltas add) and advanced
//! (Dwork, Rothblum, Vadhan 2010), applied to the exact per-release (epsilon_0, delta_0) of
//! each event. They are sound but loose; kiln keeps them for comparison and for the audit.

use crate::calibrate::{AtFailLimit, Space, search};
use crate::errors::{PrivacyError, Result};
use crate::event::{DpEvent, Ledger, check_delta};
use crate::pld::single_release_delta;

/// Smallest epsilon_0 with `delta(epsilon_0) <= delta_0` for one release, by the crate's one
/// monotone search (geometric bisection to 1e-12 relative), returning the upper end (never
/// under-reports).
pub fn single_release_epsilon(event: &DpEvent, delta0: f64) -> Result<f64> {
    let (q, sigma) = match *event {
        DpEvent::Gaussian { noise_multiplier } => (1.0, noise_multiplier),
        DpEvent::PoissonGaussian {
            sampling_rate,
            noise_multiplier,
        } => (sampling_rate, noise_multiplier),
        // Pure DP: epsilon = 1/b at delta 0.
        DpEvent::Laplace { scale } => return Ok(1.0 / scale),
        DpEvent::SampledWithoutReplacementGaussian { .. }
        | DpEvent::SampledWithReplacementGaussian { .. } => {
            return Err(PrivacyError::Unsupported {
                event: event.name().into(),
                accountant: "basic/advanced composition".into(),
                reason: "kiln has no exact single-release (epsilon, delta) curve for \
                         fixed-size sampling; use the rdp accountant"
                    .into(),
            });
        }
    };
    if single_release_delta(q, sigma, 0.0) <= delta0 {
        return Ok(0.0);
    }
    // delta(epsilon) decreases in epsilon: the smallest epsilon in (0, 1e7] meeting delta0.
    let space = Space {
        start: 1.0,
        min: 1e-300,
        max: 1e7,
        integer: false,
        decreasing: true,
        at_fail_limit: AtFailLimit::Accept,
        unreachable: "no epsilon below 1e7 reaches the delta",
    };
    match search(&space, delta0, 1e-12, |e| {
        Ok(single_release_delta(q, sigma, e))
    }) {
        Ok(found) => Ok(found.ok),
        Err(PrivacyError::Unreachable(m)) => {
            Err(PrivacyError::numerical("single_release_epsilon", m))
        }
        Err(e) => Err(e),
    }
}

/// Basic composition: each of the k releases gets delta/k; epsilons add.
pub fn basic_epsilon(ledger: &Ledger, delta: f64) -> Result<f64> {
    check_delta(delta)?;
    let k = ledger.total_count();
    if k == 0 {
        return Ok(0.0);
    }
    let d0 = delta / k as f64;
    let mut eps = 0.0;
    for e in ledger.entries() {
        eps += e.count as f64 * single_release_epsilon(&e.event, d0)?;
    }
    Ok(crate::rdp::round_up(eps))
}

/// Advanced composition with heterogeneous epsilons:
/// `eps = sqrt(2 ln(1/delta') sum eps_i^2) + sum eps_i (e^{eps_i} - 1)` at total delta
/// `delta' + sum delta_i`. The split of `delta` between `delta'` and the per-release deltas
/// is chosen from a grid (each split is a valid bound, so their minimum is too).
pub fn advanced_epsilon(ledger: &Ledger, delta: f64) -> Result<f64> {
    check_delta(delta)?;
    let k = ledger.total_count();
    if k == 0 {
        return Ok(0.0);
    }
    let mut best = f64::INFINITY;
    for s in 1..20 {
        let frac = s as f64 / 20.0;
        let delta_prime = delta * frac;
        let d0 = delta * (1.0 - frac) / k as f64;
        let mut sum_sq = 0.0;
        let mut drift = 0.0;
        for e in ledger.entries() {
            let e0 = single_release_epsilon(&e.event, d0)?;
            sum_sq += e.count as f64 * e0 * e0;
            drift += e.count as f64 * e0 * e0.exp_m1();
        }
        let eps = (2.0 * (1.0 / delta_prime).ln() * sum_sq).sqrt() + drift;
        best = best.min(eps);
    }
    Ok(crate::rdp::round_up(best))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::BatchSampling;

    #[test]
    fn single_gaussian_release_matches_exact_formula() {
        // sigma = 1, q = 1, exact eps at delta 1e-5 is 4.377178095681224 (mu-GDP, mu = 1).
        let e = single_release_epsilon(&DpEvent::gaussian(1.0).unwrap(), 1e-5).unwrap();
        assert!((e - 4.377_178_095_681_224).abs() < 1e-8, "{e}");
    }

    #[test]
    fn advanced_beats_basic_for_many_small_steps() {
        let l = Ledger::steps(&BatchSampling::poisson(0.01), 4.0, 10_000).unwrap();
        let b = basic_epsilon(&l, 1e-5).unwrap();
        let a = advanced_epsilon(&l, 1e-5).unwrap();
        assert!(a < b, "advanced {a} basic {b}");
    }
}
