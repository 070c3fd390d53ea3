//! RDP of the Gaussian mechanism on fixed-size batches, replace-one neighbours.
//!
//! - Without replacement (a uniformly random subset of m of the n records): Theorem 27 of
//!   Wang, Balle, Kasiviswanathan 2019 ("Subsampled Rényi DP and analytical moments
//!   accountant"), evaluated exactly as dp_accounting 0.6's `_compute_rdp_sample_wor_gaussian`
//!   does: the exact bound up to order 256 (forward differences of `exp(cgf)` in log space),
//!   a Stirling-style bound above it, and fractional orders by linear interpolation of the
//!   CGF between the neighbouring integers (their Corollary 10, an upper bound). The forward
//!   differences depend only on sigma, so kiln computes them once per curve instead of once
//!   per order.
//! - With replacement (m independent uniform draws): dp_accounting 0.6 has no accountant for
//!   it. kiln bounds it soundly but coarsely. Let K ~ Binomial(m, 1/n) count the draws of the
//!   replaced record; conditioned on the draws, the two outputs are Gaussians whose means
//!   differ by at most K, and `exp((alpha - 1) D_alpha)` is jointly convex, so
//!   `RDP(alpha) <= log E[exp(alpha (alpha - 1) K^2 / (2 sigma^2))] / (alpha - 1)`.
//!   The bound keeps the amplification of P(K = 0) but not the second-order (q^2) gain of a
//!   tight analysis, so for small q it is far above the without-replacement curve.

use rayon::prelude::*;

use crate::special::log_add;

/// Orders up to this one use the exact Theorem 27 sum (as dp_accounting's `max_alpha`).
const MAX_EXACT_ORDER: u64 = 256;

/// `(sign, log|exp(logx) - exp(logy)|)` as dp_accounting's `_log_sub_sign`.
fn log_sub_sign(logx: f64, logy: f64) -> (bool, f64) {
    if logx > logy {
        (true, logx + (-(logy - logx).exp()).ln_1p())
    } else if logx < logy {
        (false, logy + (-(logx - logy).exp()).ln_1p())
    } else {
        (true, f64::NEG_INFINITY)
    }
}

/// `log binom(n, k)` through log-gamma (as dp_accounting's `_log_comb`).
fn log_comb(n: f64, k: f64) -> f64 {
    libm::lgamma(n + 1.0) - libm::lgamma(k + 1.0) - libm::lgamma(n - k + 1.0)
}

/// The Gaussian CGF `x (x + 1) / (2 sigma^2)` = `x * RDP(x + 1)`.
fn cgf(sigma: f64, x: f64) -> f64 {
    x * (x + 1.0) / (2.0 * sigma * sigma)
}

/// `deltas[i]`: log |forward difference| table of dp_accounting's `_get_forward_diffs`,
/// `len` entries. Entry i depends only on the first i + 2 values of the sequence, so one
/// table serves every order.
fn forward_diffs(sigma: f64, len: usize) -> Vec<f64> {
    let mut v = vec![0.0; len + 1];
    let mut signs = vec![true; len + 1];
    for (i, x) in v.iter_mut().enumerate().skip(1) {
        *x = cgf(sigma, (i - 1) as f64);
    }
    let mut deltas = vec![0.0; len];
    for (i, d) in deltas.iter_mut().enumerate() {
        for j in 0..len - i {
            if signs[j] == signs[j + 1] {
                let (s, mag) = log_sub_sign(v[j + 1], v[j]);
                v[j] = mag;
                signs[j] = if signs[j + 1] { s } else { !s };
            } else {
                v[j] = log_add(v[j], v[j + 1]);
                signs[j] = signs[j + 1];
            }
        }
        *d = v[0];
    }
    deltas
}

/// The Gaussian-on-a-without-replacement-sample RDP curve for one (q = m/n, sigma).
#[derive(Debug, Clone)]
pub struct WorCurve {
    q: f64,
    sigma: f64,
    deltas: Vec<f64>,
}

impl WorCurve {
    /// Prepares the curve for orders up to `max_order` (the forward differences are built
    /// up to min(max_order, 256)).
    pub fn new(q: f64, sigma: f64, max_order: f64) -> Self {
        let top = if max_order.is_finite() {
            (max_order.ceil() as u64).min(MAX_EXACT_ORDER)
        } else {
            MAX_EXACT_ORDER
        };
        let deltas = if q < 1.0 {
            forward_diffs(sigma, top as usize + 2)
        } else {
            Vec::new()
        };
        Self { q, sigma, deltas }
    }

    /// `log A_alpha` for integer alpha (dp_accounting's `_compute_rdp_sample_wor_gaussian_int`).
    fn log_a_int(&self, alpha: u64) -> f64 {
        if alpha <= 1 {
            return 0.0;
        }
        let (q, sigma) = (self.q, self.sigma);
        let a = alpha as f64;
        let lq = q.ln();
        let (ln2, ln4) = (2f64.ln(), 4f64.ln());
        let f2 = 2.0 / (2.0 * sigma * sigma);
        let log_f2m1 = f2 + (-(-f2).exp()).ln_1p();
        let first = 2.0 * lq + log_comb(a, 2.0) + (ln4 + log_f2m1).min(f2 + ln2);
        let mut log_a = log_add(0.0, first);
        if alpha <= MAX_EXACT_ORDER && (alpha as usize) < self.deltas.len() {
            for i in 3..=alpha {
                let lo = self.deltas[(2 * (i / 2) - 1) as usize];
                let hi = self.deltas[(2 * i.div_ceil(2) - 1) as usize];
                let s = (ln4 + 0.5 * (lo + hi)).min(ln2 + cgf(sigma, (i - 1) as f64))
                    + i as f64 * lq
                    + log_comb(a, i as f64);
                log_a = log_add(log_a, s);
            }
        } else {
            for i in 3..=alpha {
                let s = ln2 + cgf(sigma, (i - 1) as f64) + i as f64 * lq + log_comb(a, i as f64);
                log_a = log_add(log_a, s);
            }
        }
        log_a
    }

    /// RDP at order `alpha > 1`.
    pub fn rdp(&self, alpha: f64) -> f64 {
        if self.q >= 1.0 {
            return alpha / (2.0 * self.sigma * self.sigma);
        }
        if !alpha.is_finite() {
            return f64::INFINITY;
        }
        if alpha.fract() == 0.0 {
            return self.log_a_int(alpha as u64) / (alpha - 1.0);
        }
        let (f, c) = (alpha.floor(), alpha.ceil());
        let x = self.log_a_int(f as u64);
        let y = self.log_a_int(c as u64);
        let t = alpha - f;
        ((1.0 - t) * x + t * y) / (alpha - 1.0)
    }
}

/// RDP curve of one without-replacement sampled Gaussian release at `orders`.
pub fn rdp_wor_curve(dataset_size: u64, batch_size: u64, sigma: f64, orders: &[f64]) -> Vec<f64> {
    let q = batch_size as f64 / dataset_size as f64;
    let max = orders.iter().cloned().fold(1.0, f64::max);
    let curve = WorCurve::new(q, sigma, max);
    orders.par_iter().map(|&a| curve.rdp(a)).collect()
}

/// The coarse with-replacement bound at `alpha > 1` (see the module docs).
pub fn rdp_wr(dataset_size: u64, batch_size: u64, sigma: f64, alpha: f64) -> f64 {
    let n = dataset_size as f64;
    let m = batch_size;
    let c = alpha * (alpha - 1.0) / (2.0 * sigma * sigma);
    if dataset_size == 1 {
        return c * (m as f64) * (m as f64) / (alpha - 1.0);
    }
    let lp = -n.ln();
    let l1p = (-1.0 / n).ln_1p();
    let mf = m as f64;
    let terms = (0..=m).map(|k| {
        let k = k as f64;
        log_comb(mf, k) + k * lp + (mf - k) * l1p + c * k * k
    });
    let top = terms.clone().fold(f64::NEG_INFINITY, f64::max);
    let sum: f64 = terms.map(|t| (t - top).exp()).sum();
    (top + sum.ln()) / (alpha - 1.0)
}

/// RDP curve of one with-replacement sampled Gaussian release at `orders`.
pub fn rdp_wr_curve(dataset_size: u64, batch_size: u64, sigma: f64, orders: &[f64]) -> Vec<f64> {
    orders
        .par_iter()
        .map(|&a| rdp_wr(dataset_size, batch_size, sigma, a))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `log int p^alpha q^(1-alpha)` of two 1-D Gaussian mixtures (common sigma, equal
    /// weights) by the trapezoidal rule on a wide fine grid.
    fn log_renyi_integral(p: &[f64], q: &[f64], sigma: f64, alpha: f64) -> f64 {
        let lo = p.iter().chain(q).cloned().fold(f64::INFINITY, f64::min) - 40.0 * sigma;
        let hi = p.iter().chain(q).cloned().fold(f64::NEG_INFINITY, f64::max) + 40.0 * sigma;
        let steps = 200_000;
        let h = (hi - lo) / steps as f64;
        let dens = |mus: &[f64], z: f64| {
            mus.iter()
                .map(|m| (-(z - m) * (z - m) / (2.0 * sigma * sigma)).exp())
                .sum::<f64>()
                / (mus.len() as f64 * sigma * (2.0 * std::f64::consts::PI).sqrt())
        };
        let mut s = 0.0;
        for k in 0..=steps {
            let z = lo + k as f64 * h;
            let (a, b) = (dens(p, z), dens(q, z));
            if a > 0.0 && b > 0.0 {
                let w = if k == 0 || k == steps { 0.5 } else { 1.0 };
                s += w * (alpha * a.ln() + (1.0 - alpha) * b.ln()).exp();
            }
        }
        (s * h).ln()
    }

    /// Worst of both directions of D_alpha between the output distributions of "sum of the
    /// sampled values + N(0, sigma^2)" on `x` and on `x` with record 0 replaced.
    fn brute_rdp(batches: &[Vec<usize>], x: &[f64], x0_new: f64, sigma: f64, alpha: f64) -> f64 {
        let mut y = x.to_vec();
        y[0] = x0_new;
        let means = |d: &[f64]| -> Vec<f64> {
            batches
                .iter()
                .map(|b| b.iter().map(|&i| d[i]).sum())
                .collect()
        };
        let (p, q) = (means(x), means(&y));
        log_renyi_integral(&p, &q, sigma, alpha).max(log_renyi_integral(&q, &p, sigma, alpha))
            / (alpha - 1.0)
    }

    #[test]
    fn without_replacement_bound_holds_on_tiny_datasets() {
        // n = 4, m = 2: all 6 subsets equally likely; replacing record 0 moves its value by 1.
        let mut subsets = Vec::new();
        for i in 0..4 {
            for j in i + 1..4 {
                subsets.push(vec![i, j]);
            }
        }
        let x = [0.5, 0.0, 0.3, -0.2];
        for &sigma in &[0.7, 1.0, 2.0] {
            let curve = WorCurve::new(0.5, sigma, 8.0);
            for &alpha in &[1.5, 2.0, 3.0, 5.5, 8.0] {
                let exact = brute_rdp(&subsets, &x, -0.5, sigma, alpha);
                let bound = curve.rdp(alpha);
                assert!(
                    exact <= bound * (1.0 + 1e-9),
                    "sigma {sigma} alpha {alpha}: exact {exact} > bound {bound}"
                );
                // At q = 0.5 the bound may exceed the unsampled Gaussian's alpha / (2 sigma^2)
                // (its constants 2 and 4); at q = 0.01 it is below it.
                let small = WorCurve::new(0.01, sigma, 8.0).rdp(alpha);
                assert!(small < 0.5 * alpha / (2.0 * sigma * sigma), "{small}");
            }
        }
    }

    #[test]
    fn with_replacement_bound_holds_on_tiny_datasets() {
        // n = 3, m = 2: 9 equally likely ordered draws.
        let mut draws = Vec::new();
        for i in 0..3 {
            for j in 0..3 {
                draws.push(vec![i, j]);
            }
        }
        let x = [0.5, 0.1, -0.3];
        for &sigma in &[0.8, 1.5] {
            for &alpha in &[1.5, 2.0, 4.0, 7.3] {
                let exact = brute_rdp(&draws, &x, -0.5, sigma, alpha);
                let bound = rdp_wr(3, 2, sigma, alpha);
                assert!(
                    exact <= bound * (1.0 + 1e-9),
                    "sigma {sigma} alpha {alpha}: exact {exact} > bound {bound}"
                );
            }
        }
    }

    #[test]
    fn full_batches_are_the_gaussian() {
        assert_eq!(WorCurve::new(1.0, 2.0, 10.0).rdp(3.0), 3.0 / 8.0);
        // One record drawn m times: a Gaussian of sensitivity m.
        assert!((rdp_wr(1, 3, 2.0, 3.0) - 3.0 * 9.0 / 8.0).abs() < 1e-12);
    }

    #[test]
    fn one_forward_difference_table_serves_every_order() {
        // Built for order 256 or for order 7, the shared prefix is identical.
        let big = forward_diffs(1.3, 258);
        let small = forward_diffs(1.3, 9);
        assert_eq!(&big[..9], &small[..]);
        let a = WorCurve::new(0.01, 1.3, 1024.0);
        let b = WorCurve::new(0.01, 1.3, 7.0);
        assert_eq!(a.rdp(7.0), b.rdp(7.0));
        assert_eq!(a.rdp(6.5), b.rdp(6.5));
    }
}
