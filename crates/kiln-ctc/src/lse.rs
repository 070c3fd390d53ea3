//! Log-sum-exp helpers that stay exact at ties and at `-inf`.
//!
//! The CTC recursions add two or three log-probabilities per lattice cell. The value is computed
//! as `max + ln(sum exp(x - max))`; the gradient never goes through these functions (it comes
//! from alpha/beta posteriors), so a tie cannot steer the gradient to one argument as it does
//! when autodiff differentiates through a `max`.

/// `ln(exp(a) + exp(b))`, `-inf` when both are `-inf` (kiln-core's shared log-add-exp).
pub use kiln_core::numerics::log_add_exp as lse2;

/// `ln(exp(a) + exp(b) + exp(c))`, `-inf` when all are `-inf`.
#[inline(always)]
pub fn lse3(a: f64, b: f64, c: f64) -> f64 {
    if c == f64::NEG_INFINITY {
        return lse2(a, b);
    }
    let m = a.max(b).max(c);
    if m == f64::NEG_INFINITY {
        return m;
    }
    m + ((a - m).exp() + (b - m).exp() + (c - m).exp()).ln()
}

/// `ln(sum exp(x))` over a slice, `-inf` for an empty slice.
pub fn lse_slice(xs: &[f64]) -> f64 {
    let m = xs.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    if m == f64::NEG_INFINITY {
        return m;
    }
    m + xs.iter().map(|x| (x - m).exp()).sum::<f64>().ln()
}

/// In-place log-softmax of one frame.
pub fn log_softmax_in_place(frame: &mut [f64]) {
    let z = lse_slice(frame);
    for v in frame {
        *v -= z;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ties_and_infinities() {
        let l2 = std::f64::consts::LN_2;
        assert!((lse2(3.0, 3.0) - (3.0 + l2)).abs() < 1e-15);
        assert_eq!(
            lse2(f64::NEG_INFINITY, f64::NEG_INFINITY),
            f64::NEG_INFINITY
        );
        assert_eq!(lse2(-2.0, f64::NEG_INFINITY), -2.0);
        assert!((lse3(1.0, 1.0, 1.0) - (1.0 + 3f64.ln())).abs() < 1e-15);
        assert_eq!(
            lse3(f64::NEG_INFINITY, f64::NEG_INFINITY, f64::NEG_INFINITY),
            f64::NEG_INFINITY
        );
        assert!((lse_slice(&[0.0, 0.0, 0.0, 0.0]) - 4f64.ln()).abs() < 1e-15);
        // Far apart: no overflow.
        assert!((lse2(1000.0, 0.0) - 1000.0).abs() < 1e-12);
    }
}
