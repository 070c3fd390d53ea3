//! Special functions in log space: the numerics every accountant leans on.

/// `log(exp(a) + exp(b))` without overflow (kiln-core's shared log-add-exp).
pub use kiln_core::numerics::log_add_exp as log_add;

/// `log(exp(a) - exp(b))` for `a >= b` (`-inf` when equal).
pub fn log_sub(a: f64, b: f64) -> f64 {
    if b == f64::NEG_INFINITY {
        return a;
    }
    if a <= b {
        return f64::NEG_INFINITY;
    }
    a + (-(b - a).exp()).ln_1p()
}

/// `log(a * exp(b) + c)` for `a * exp(b) + c > 0`, as dp_accounting's helper of that name.
pub fn log_a_times_exp_b_plus_c(a: f64, b: f64, c: f64) -> f64 {
    if a == 0.0 {
        return c.ln();
    }
    if a < 0.0 {
        return log_sub(c.ln(), (-a).ln() + b);
    }
    if b == 0.0 {
        return (a + c).ln();
    }
    let d = b + a.ln();
    if c == 0.0 {
        d
    } else if c < 0.0 {
        log_sub(d, (-c).ln())
    } else {
        log_add(d, c.ln())
    }
}

/// `log(erfc(x))`, accurate in the far right tail where `erfc` underflows.
pub fn log_erfc(x: f64) -> f64 {
    if x < 25.0 {
        libm::erfc(x).ln()
    } else {
        // Asymptotic series erfc(x) = exp(-x^2)/(x sqrt(pi)) * sum (-1)^k (2k-1)!!/(2x^2)^k;
        // at x >= 25 the sixth term is below 1e-16 relative.
        let t = 1.0 / (2.0 * x * x);
        let mut term = 1.0;
        let mut sum = 1.0;
        for k in 1..8 {
            term *= -((2 * k - 1) as f64) * t;
            sum += term;
        }
        -x * x - (x * std::f64::consts::PI.sqrt()).ln() + sum.ln()
    }
}

/// Standard normal CDF `Phi(x)`.
pub fn norm_cdf(x: f64) -> f64 {
    0.5 * libm::erfc(-x / std::f64::consts::SQRT_2)
}

/// `log(Phi(x))`, accurate for very negative `x`.
pub fn norm_log_cdf(x: f64) -> f64 {
    if x > 0.0 {
        (-0.5 * libm::erfc(x / std::f64::consts::SQRT_2)).ln_1p()
    } else {
        log_erfc(-x / std::f64::consts::SQRT_2) - std::f64::consts::LN_2
    }
}

/// Inverse of the standard normal CDF for `p` in (0, 1) (Acklam's start + two Halley steps).
pub fn norm_ppf(p: f64) -> f64 {
    if p <= 0.0 {
        return f64::NEG_INFINITY;
    }
    if p >= 1.0 {
        return f64::INFINITY;
    }
    const A: [f64; 6] = [
        -3.969683028665376e1,
        2.209460984245205e2,
        -2.759285104469687e2,
        1.383_577_518_672_69e2,
        -3.066479806614716e1,
        2.506628277459239,
    ];
    const B: [f64; 5] = [
        -5.447609879822406e1,
        1.615858368580409e2,
        -1.556989798598866e2,
        6.680131188771972e1,
        -1.328068155288572e1,
    ];
    const C: [f64; 6] = [
        -7.784894002430293e-3,
        -3.223964580411365e-1,
        -2.400758277161838,
        -2.549732539343734,
        4.374664141464968,
        2.938163982698783,
    ];
    const D: [f64; 4] = [
        7.784695709041462e-3,
        3.224671290700398e-1,
        2.445134137142996,
        3.754408661907416,
    ];
    let plow = 0.02425;
    let mut x = if p < plow {
        let q = (-2.0 * p.ln()).sqrt();
        (((((C[0] * q + C[1]) * q + C[2]) * q + C[3]) * q + C[4]) * q + C[5])
            / ((((D[0] * q + D[1]) * q + D[2]) * q + D[3]) * q + 1.0)
    } else if p <= 1.0 - plow {
        let q = p - 0.5;
        let r = q * q;
        (((((A[0] * r + A[1]) * r + A[2]) * r + A[3]) * r + A[4]) * r + A[5]) * q
            / (((((B[0] * r + B[1]) * r + B[2]) * r + B[3]) * r + B[4]) * r + 1.0)
    } else {
        let q = (-2.0 * (1.0 - p).ln()).sqrt();
        -(((((C[0] * q + C[1]) * q + C[2]) * q + C[3]) * q + C[4]) * q + C[5])
            / ((((D[0] * q + D[1]) * q + D[2]) * q + D[3]) * q + 1.0)
    };
    // Halley refinement in log space so tiny p (1e-22) stay accurate.
    for _ in 0..3 {
        let (e, pdf_over) = if p < 0.5 {
            let lc = norm_log_cdf(x);
            // f = log Phi(x) - log p ; f' = phi/Phi
            let ratio = (-0.5 * x * x - 0.5 * (2.0 * std::f64::consts::PI).ln() - lc).exp();
            (lc - p.ln(), ratio)
        } else {
            let c = norm_cdf(x);
            let pdf = (-0.5 * x * x).exp() / (2.0 * std::f64::consts::PI).sqrt();
            ((c - p) / pdf, 1.0)
        };
        if p < 0.5 {
            x -= e / pdf_over;
        } else {
            x -= e * pdf_over;
        }
    }
    x
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn log_erfc_matches_both_branches_and_known_values() {
        // erfc(1) = 0.157299207050285..., erfc(5) = 1.5374597944280349e-12
        assert!((log_erfc(1.0) - 0.157_299_207_050_285_13_f64.ln()).abs() < 1e-14);
        assert!((log_erfc(5.0) - 1.537_459_794_428_035e-12_f64.ln()).abs() < 1e-12);
        // Continuity across the switch to the asymptotic series.
        let a = libm::erfc(24.999_999).ln();
        let b = log_erfc(25.000_001);
        assert!((a - b).abs() < 1e-3, "{a} {b}");
        let lo = libm::erfc(25.0).ln();
        let x = 25.0_f64;
        let t = 1.0 / (2.0 * x * x);
        let asym = -x * x - (x * std::f64::consts::PI.sqrt()).ln()
            + (1.0 - t + 3.0 * t * t - 15.0 * t * t * t).ln();
        assert!((lo - asym).abs() < 1e-9, "{lo} {asym}");
    }

    #[test]
    fn ppf_inverts_cdf() {
        for &p in &[1e-22, 1e-10, 0.01, 0.3, 0.5, 0.9, 0.999] {
            let x = norm_ppf(p);
            let back = if p < 0.5 {
                norm_log_cdf(x).exp()
            } else {
                norm_cdf(x)
            };
            assert!(((back - p) / p).abs() < 1e-10, "p {p} x {x} back {back}");
        }
    }

    #[test]
    fn log_add_sub_round_trip() {
        let a = 3.0_f64.ln();
        let b = 1.0_f64.ln();
        assert!((log_add(a, b) - 4.0_f64.ln()).abs() < 1e-15);
        assert!((log_sub(a, b) - 2.0_f64.ln()).abs() < 1e-15);
        assert_eq!(log_sub(a, a), f64::NEG_INFINITY);
        assert!(
            (log_a_times_exp_b_plus_c(2.0, 0.5, -1.0) - (2.0 * 0.5_f64.exp() - 1.0).ln()).abs()
                < 1e-14
        );
    }
}
