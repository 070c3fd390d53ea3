//! Discretisation of one mechanism's privacy loss onto the grid `{k h}`: pessimistic
//! connect-the-dots and the optimistic estimates.

use rayon::prelude::*;

use crate::errors::Result;
use crate::hyperparams::PldValidParams;
use crate::special::{log_a_times_exp_b_plus_c, log_add, norm_cdf, norm_log_cdf, norm_ppf};

use super::pmf::*;

/// Which neighbouring direction a PLD describes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Adjacency {
    /// The larger dataset is the first distribution: P = (1-q) N(0) + q N(-1), Q = N(0).
    Remove,
    /// P = N(0), Q = (1-q) N(0) + q N(1).
    Add,
}

/// The privacy loss of the Poisson-subsampled Gaussian (dp_accounting's conventions: the loss
/// is non-increasing in the output `x`).
#[derive(Debug, Clone, Copy)]
pub(crate) struct SubsampledGaussianLoss {
    pub(crate) q: f64,
    pub(crate) sigma: f64,
    pub(crate) adj: Adjacency,
}

pub(crate) fn isclose(a: f64, b: f64) -> bool {
    (a - b).abs() <= 1e-9 * a.abs().max(b.abs())
}

impl SubsampledGaussianLoss {
    pub(crate) fn loss_remove(&self, x: f64) -> f64 {
        let base = (-0.5 - x) / (self.sigma * self.sigma);
        if self.q == 1.0 {
            base
        } else {
            log_a_times_exp_b_plus_c(self.q, base, 1.0 - self.q)
        }
    }

    pub(crate) fn loss(&self, x: f64) -> f64 {
        match self.adj {
            Adjacency::Remove => self.loss_remove(x),
            Adjacency::Add => -self.loss_remove(-x),
        }
    }

    /// Largest x whose loss is at least `eps`.
    pub(crate) fn inverse(&self, eps: f64) -> f64 {
        let s2 = self.sigma * self.sigma;
        let q = self.q;
        match self.adj {
            Adjacency::Remove => {
                if q == 1.0 {
                    return -0.5 - eps * s2;
                }
                if isclose(eps, (-q).ln_1p()) {
                    return f64::INFINITY;
                }
                let lw = log_a_times_exp_b_plus_c(1.0 / q, eps, 1.0 - 1.0 / q);
                -0.5 - lw * s2
            }
            Adjacency::Add => {
                if q == 1.0 {
                    return 0.5 - eps * s2;
                }
                if isclose(eps, -(-q).ln_1p()) {
                    return f64::NEG_INFINITY;
                }
                let lw = -log_a_times_exp_b_plus_c(1.0 / q, -eps, 1.0 - 1.0 / q);
                0.5 - lw * s2
            }
        }
    }

    pub(crate) fn mu_upper_cdf(&self, x: f64) -> f64 {
        let s = self.sigma;
        match self.adj {
            Adjacency::Add => norm_cdf(x / s),
            Adjacency::Remove => {
                if self.q == 1.0 {
                    norm_cdf((x + 1.0) / s)
                } else {
                    (1.0 - self.q) * norm_cdf(x / s) + self.q * norm_cdf((x + 1.0) / s)
                }
            }
        }
    }

    pub(crate) fn mu_lower_log_cdf(&self, x: f64) -> f64 {
        let s = self.sigma;
        match self.adj {
            Adjacency::Add => {
                if self.q == 1.0 {
                    norm_log_cdf((x - 1.0) / s)
                } else {
                    log_add(
                        (-self.q).ln_1p() + norm_log_cdf(x / s),
                        self.q.ln() + norm_log_cdf((x - 1.0) / s),
                    )
                }
            }
            Adjacency::Remove => norm_log_cdf(x / s),
        }
    }

    /// Exact hockey-stick divergence `delta(eps)` of one release.
    pub(crate) fn delta_for_epsilon(&self, eps: f64) -> f64 {
        let q = self.q;
        if q < 1.0 {
            match self.adj {
                Adjacency::Add if eps >= -(-q).ln_1p() => return 0.0,
                Adjacency::Remove if eps <= (-q).ln_1p() => return -eps.exp_m1(),
                _ => {}
            }
        }
        let x = self.inverse(eps);
        let d = self.mu_upper_cdf(x) - (eps + self.mu_lower_log_cdf(x)).exp();
        d.clamp(0.0, 1.0)
    }

    /// Noise truncation points: each tail of the noise keeps at most 0.5 e^b mass.
    pub(crate) fn truncation(&self, log_mass_truncation_bound: f64) -> (f64, f64) {
        let mut lower = self.sigma * norm_ppf(0.5 * log_mass_truncation_bound.exp());
        let mut upper = -lower;
        match self.adj {
            Adjacency::Add => upper += 1.0,
            Adjacency::Remove => lower -= 1.0,
        }
        (lower, upper)
    }
}

/// Connect-the-dots pessimistic PMF of one subsampled-Gaussian release.
pub(crate) fn connect_dots(loss: &SubsampledGaussianLoss, p: &PldValidParams) -> Result<Pmf> {
    let h = p.h;
    let (lx, ux) = loss.truncation(p.log_mass_truncation_bound);
    let eps_upper = loss.loss(lx);
    let eps_lower = loss.loss(ux);
    let ru = (eps_upper / h).ceil() as i64;
    let rl = (eps_lower / h).floor() as i64;
    let n = (ru - rl + 1) as usize;
    check_grid(n, p.max_grid_points)?;
    let mut deltas: Vec<f64> = (rl..=ru)
        .into_par_iter()
        .map(|i| loss.delta_for_epsilon(i as f64 * h))
        .collect();
    if n == 1 {
        return Ok(Pmf::from_dense(
            rl,
            vec![1.0 - deltas[0]],
            deltas[0],
            h,
            true,
        ));
    }
    // Hockey-stick curves are non-increasing; enforce it against rounding.
    for i in 1..n {
        if deltas[i] > deltas[i - 1] {
            deltas[i] = deltas[i - 1];
        }
    }
    let em1 = h.exp_m1();
    let e = h.exp();
    let mut probs = vec![0.0; n];
    probs[0] = 1.0 - deltas[0] + (deltas[1] - deltas[0]) / em1;
    for i in 1..n - 1 {
        let d_next = deltas[i + 1] - deltas[i];
        let d_prev = deltas[i] - deltas[i - 1];
        probs[i] = (d_next - d_prev * e) / em1;
    }
    probs[n - 1] = (deltas[n - 1] - deltas[n - 2]) / (-h).exp_m1();
    for v in probs.iter_mut() {
        *v = v.max(0.0);
    }
    Ok(Pmf::from_dense(rl, probs, deltas[n - 1], h, true))
}

impl SubsampledGaussianLoss {
    /// `log Q(L > eps)` (mass of the lower measure where the loss exceeds `eps`; minus the
    /// slope of `delta` as a function of `e^eps`).
    pub(crate) fn log_lower_tail(&self, eps: f64) -> f64 {
        let q = self.q;
        if q < 1.0 {
            match self.adj {
                Adjacency::Add if eps >= -(-q).ln_1p() => return f64::NEG_INFINITY,
                Adjacency::Remove if eps <= (-q).ln_1p() => return 0.0,
                _ => {}
            }
        }
        self.mu_lower_log_cdf(self.inverse(eps)).min(0.0)
    }
}

/// Optimistic PMF of one release from tangents of its hockey-stick curve.
///
/// `delta` is convex in `y = e^eps`, so its tangent at `y_{i+1}` lies below it; the value
/// `d_i` of that tangent at `y_i` and `d_{i+1} <= delta(y_{i+1})` give a chord below the
/// curve on `[y_i, y_{i+1}]`. The lower convex hull of these points (anchored at
/// `(0, 1)`, non-increasing) is a valid hockey-stick curve below the true one everywhere, so
/// its PLD is dominated by the true pair and composes to a lower bound. Its error per grid
/// point is O(h^2) (a Taylor remainder), against O(h) for rounding losses down, whose bias
/// grows like steps x h. The tail mass above the truncated range goes to the top atom (not
/// to infinity), as in the privacy-buckets estimate. Floating point: rounding can leave the
/// curve up to ~1e-11 absolute above the truth (tested).
pub(crate) fn tangent_optimistic(loss: &SubsampledGaussianLoss, p: &PldValidParams) -> Result<Pmf> {
    let h = p.h;
    let (lx, ux) = loss.truncation(p.log_mass_truncation_bound);
    let ru = (loss.loss(lx) / h).ceil() as i64;
    let rl = (loss.loss(ux) / h).floor() as i64;
    let n = (ru - rl + 1) as usize;
    check_grid(n, p.max_grid_points)?;
    if (ru - rl) as f64 * h > 600.0 {
        // The hull works in y = e^(eps - eps_0), which would overflow: round down instead.
        return privacy_buckets_optimistic(loss, p);
    }
    let eps: Vec<f64> = (rl..=ru).map(|i| i as f64 * h).collect();
    let (deltas, tails): (Vec<f64>, Vec<f64>) = eps
        .par_iter()
        .map(|&e| (loss.delta_for_epsilon(e), loss.log_lower_tail(e)))
        .unzip();
    if n == 1 {
        return Ok(Pmf::from_dense(rl, vec![1.0], 0.0, h, false));
    }
    let shrink = -(-h).exp_m1(); // 1 - e^-h
    let mut d: Vec<f64> = (0..n)
        .map(|i| {
            if i + 1 < n {
                // Tangent at y_{i+1}, evaluated at y_i = y_{i+1} e^-h.
                let t = deltas[i + 1] + (tails[i + 1] + eps[i + 1]).exp() * shrink;
                t.clamp(0.0, deltas[i])
            } else {
                deltas[i]
            }
        })
        .collect();
    for i in 1..n {
        d[i] = d[i].min(d[i - 1]);
    }
    // Lower convex hull of (0, 1) and (y_i, d_i), in coordinates relative to y_0 to keep
    // precision (y spans e^-|loss| .. e^|loss|).
    let ys: Vec<f64> = eps.iter().map(|e| (e - eps[0]).exp()).collect();
    let y_anchor = 0.0;
    let mut hull: Vec<(f64, f64)> = vec![(y_anchor, 1.0)];
    for (&y, &v) in ys.iter().zip(&d) {
        while hull.len() >= 2 {
            let (x1, v1) = hull[hull.len() - 2];
            let (x2, v2) = hull[hull.len() - 1];
            // Drop the middle point when it lies on or above the segment to the new one.
            if (v2 - v1) * (y - x1) >= (v - v1) * (x2 - x1) {
                hull.pop();
            } else {
                break;
            }
        }
        hull.push((y, v));
    }
    // Masses straight from the hull: a vertex at y_v carries y_v times the slope change
    // there (in relative coordinates), every other grid point none. Second differences of
    // interpolated values would be rounding noise where the curve is straight, and clamping
    // that noise to >= 0 would raise delta. The mass beyond the last grid point (the
    // curve's final value) goes to the top atom, which only lowers delta.
    let mut probs = vec![0.0; n];
    let slope = |a: (f64, f64), b: (f64, f64)| (b.1 - a.1) / (b.0 - a.0);
    for v in 1..hull.len() {
        let left = slope(hull[v - 1], hull[v]);
        let right = if v + 1 < hull.len() {
            slope(hull[v], hull[v + 1])
        } else {
            0.0
        };
        let idx = ys
            .binary_search_by(|y| y.total_cmp(&hull[v].0))
            .expect("hull vertices are grid points");
        probs[idx] = (hull[v].0 * (right - left)).max(0.0);
    }
    probs[n - 1] += hull[hull.len() - 1].1.max(0.0);
    let total: f64 = probs.iter().sum();
    if total > 1.0 {
        // Rounding: scale down, which only lowers delta.
        for v in probs.iter_mut() {
            *v /= total;
        }
    }
    Ok(Pmf::from_dense(rl, probs, 0.0, h, false))
}

/// Privacy-buckets optimistic PMF (losses rounded down) of one subsampled-Gaussian release
/// (the reference the tangent estimate is checked against, and its fallback when the loss
/// range is too wide for the hull's coordinates).
pub(crate) fn privacy_buckets_optimistic(
    loss: &SubsampledGaussianLoss,
    p: &PldValidParams,
) -> Result<Pmf> {
    let h = p.h;
    let (lx, ux) = loss.truncation(p.log_mass_truncation_bound);
    let top = (loss.loss(lx) / h).floor() as i64;
    let upper_loss = loss.loss(ux);
    // Boundaries x_0 = lx < x_1 < ... ; losses on (x_k, x_{k+1}) round down to top - k.
    let mut xs = vec![lx];
    let mut rounded = Vec::new();
    let mut r = top;
    loop {
        let x = if h * r as f64 <= upper_loss {
            ux
        } else {
            loss.inverse(h * r as f64)
        };
        xs.push(x);
        rounded.push(r);
        r -= 1;
        if x >= ux {
            break;
        }
        check_grid(rounded.len(), p.max_grid_points)?;
    }
    let cdf: Vec<f64> = xs.par_iter().map(|&x| loss.mu_upper_cdf(x)).collect();
    let lowest = *rounded.last().expect("at least one bucket");
    let n = (top - lowest + 1) as usize;
    let mut probs = vec![0.0; n];
    // Mass below the lower truncation has loss above loss(lx): round it down to loss(lx).
    probs[(top - lowest) as usize] += cdf[0];
    for (k, &r) in rounded.iter().enumerate() {
        probs[(r - lowest) as usize] += (cdf[k + 1] - cdf[k]).max(0.0);
    }
    Ok(Pmf::from_dense(lowest, probs, 0.0, h, false))
}
