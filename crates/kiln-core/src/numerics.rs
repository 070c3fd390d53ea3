//! Small numerical helpers several areas share, written once: log-add-exp, the argmax fold,
//! and standard normal draws (through `rand_distr`).

use rand::Rng;
use rand_distr::{Distribution, StandardNormal};

/// `ln(exp(a) + exp(b))`, exact at ties and at `-inf` (`-inf` when both are `-inf`; `+inf`
/// when either is `+inf`).
///
/// ```
/// use kiln_core::numerics::log_add_exp;
/// assert!((log_add_exp(0.0, 0.0) - 2f64.ln()).abs() < 1e-15);
/// assert_eq!(log_add_exp(f64::NEG_INFINITY, -3.0), -3.0);
/// ```
#[inline(always)]
pub fn log_add_exp(a: f64, b: f64) -> f64 {
    let (hi, lo) = if a >= b { (a, b) } else { (b, a) };
    if lo == f64::NEG_INFINITY || hi == f64::INFINITY {
        return hi;
    }
    hi + (lo - hi).exp().ln_1p()
}

/// Index and value of the largest element; at a tie the lower index wins, so the result is
/// deterministic. `None` for an empty slice. NaN never wins (callers that must reject NaN
/// check with [`crate::errors::ensure_finite`] first).
///
/// ```
/// assert_eq!(kiln_core::numerics::argmax(&[0.5, 2.0, 2.0, -1.0]), Some((1, 2.0)));
/// assert_eq!(kiln_core::numerics::argmax(&[]), None);
/// ```
pub fn argmax(values: &[f64]) -> Option<(usize, f64)> {
    if values.is_empty() {
        return None;
    }
    Some(
        values
            .iter()
            .copied()
            .enumerate()
            .fold(
                (0, f64::NEG_INFINITY),
                |acc, (i, v)| {
                    if v > acc.1 { (i, v) } else { acc }
                },
            ),
    )
}

/// One standard normal draw (`rand_distr`'s ziggurat `StandardNormal`).
pub fn standard_normal(rng: &mut impl Rng) -> f64 {
    StandardNormal.sample(rng)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn log_add_exp_ties_infinities_and_far_values() {
        let l2 = std::f64::consts::LN_2;
        assert!((log_add_exp(3.0, 3.0) - (3.0 + l2)).abs() < 1e-15);
        assert_eq!(
            log_add_exp(f64::NEG_INFINITY, f64::NEG_INFINITY),
            f64::NEG_INFINITY
        );
        assert_eq!(log_add_exp(f64::INFINITY, 1.0), f64::INFINITY);
        assert!((log_add_exp(1000.0, 0.0) - 1000.0).abs() < 1e-12);
        assert!((log_add_exp(-1.0, -2.0) - ((-1f64).exp() + (-2f64).exp()).ln()).abs() < 1e-15);
    }

    #[test]
    fn standard_normal_moments() {
        let mut rng = crate::seed::rng(1);
        let n = 20_000;
        let xs: Vec<f64> = (0..n).map(|_| standard_normal(&mut rng)).collect();
        let mean = xs.iter().sum::<f64>() / n as f64;
        let var = xs.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / n as f64;
        assert!(mean.abs() < 0.03, "{mean}");
        assert!((var - 1.0).abs() < 0.05, "{var}");
    }
}
