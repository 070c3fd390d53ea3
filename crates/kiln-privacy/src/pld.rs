//! Privacy-loss-distribution (PLD) accounting, following dp_accounting 0.6's `PLDAccountant`.
//!
//! A mechanism's privacy loss `L = log(P(X)/Q(X)), X ~ P` is discretized on the grid
//! `{k h}`: pessimistically by connect-the-dots (Doroshenko, Ghazi, Kamath, Kumar, Manurangsi
//! 2022: the discrete distribution whose hockey-stick curve matches the true one at every grid
//! point and lies above it in between), or optimistically by rounding losses down ("privacy
//! buckets"). Composition is convolution of the discrete distributions, done by FFT with
//! Chernoff-bounded truncation of negligible tails (the truncated mass is moved to the
//! infinite loss when pessimistic). Under add/remove neighbours the subsampled Gaussian has
//! two different PLDs (remove and add); kiln composes both and reports the worse.

use rayon::prelude::*;
use rustfft::FftPlanner;
use rustfft::num_complex::Complex;

use crate::errors::{PrivacyError, Result};
use crate::event::{DpEvent, Ledger, check_delta, check_epsilon};
use crate::hyperparams::{Estimate, PldValidParams};
use crate::special::{log_a_times_exp_b_plus_c, log_add, norm_cdf, norm_log_cdf, norm_ppf};

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
struct SubsampledGaussianLoss {
    q: f64,
    sigma: f64,
    adj: Adjacency,
}

fn isclose(a: f64, b: f64) -> bool {
    (a - b).abs() <= 1e-9 * a.abs().max(b.abs())
}

impl SubsampledGaussianLoss {
    fn loss_remove(&self, x: f64) -> f64 {
        let base = (-0.5 - x) / (self.sigma * self.sigma);
        if self.q == 1.0 {
            base
        } else {
            log_a_times_exp_b_plus_c(self.q, base, 1.0 - self.q)
        }
    }

    fn loss(&self, x: f64) -> f64 {
        match self.adj {
            Adjacency::Remove => self.loss_remove(x),
            Adjacency::Add => -self.loss_remove(-x),
        }
    }

    /// Largest x whose loss is at least `eps`.
    fn inverse(&self, eps: f64) -> f64 {
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

    fn mu_upper_cdf(&self, x: f64) -> f64 {
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

    fn mu_lower_log_cdf(&self, x: f64) -> f64 {
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
    fn delta_for_epsilon(&self, eps: f64) -> f64 {
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
    fn truncation(&self, log_mass_truncation_bound: f64) -> (f64, f64) {
        let mut lower = self.sigma * norm_ppf(0.5 * log_mass_truncation_bound.exp());
        let mut upper = -lower;
        match self.adj {
            Adjacency::Add => upper += 1.0,
            Adjacency::Remove => lower -= 1.0,
        }
        (lower, upper)
    }
}

/// A discrete privacy loss distribution on the grid `(lower + k) h`, plus mass at +infinity.
#[derive(Debug, Clone, PartialEq)]
pub struct Pmf {
    lower: i64,
    probs: Vec<f64>,
    infinity_mass: f64,
    h: f64,
    pessimistic: bool,
}

impl Pmf {
    /// Number of grid points.
    pub fn len(&self) -> usize {
        self.probs.len()
    }

    /// Whether the finite part is empty.
    pub fn is_empty(&self) -> bool {
        self.probs.is_empty()
    }

    /// Mass at infinite loss.
    pub fn infinity_mass(&self) -> f64 {
        self.infinity_mass
    }

    /// Smallest and largest finite loss on the grid.
    pub fn loss_range(&self) -> (f64, f64) {
        (
            self.lower as f64 * self.h,
            (self.lower + self.probs.len() as i64 - 1) as f64 * self.h,
        )
    }

    /// `delta(eps) = P(L = inf) + E[(1 - e^{eps - L})_+]`.
    pub fn delta_for_epsilon(&self, eps: f64) -> f64 {
        let mut d = self.infinity_mass;
        for (k, &p) in self.probs.iter().enumerate() {
            let loss = (self.lower + k as i64) as f64 * self.h;
            if loss > eps {
                d += -(eps - loss).exp_m1() * p;
            }
        }
        d
    }

    /// Smallest `eps >= 0` with `delta(eps) <= delta` (`inf` when none), solved exactly on each
    /// piece between grid points as dp_accounting does.
    pub fn epsilon_for_delta(&self, delta: f64) -> f64 {
        if self.infinity_mass > delta {
            return f64::INFINITY;
        }
        // `log_lower` = log sum p e^-L in log space: e^-L underflows for losses above ~745,
        // which would otherwise end the search at a grid point instead of solving the piece.
        let mut mass_upper = self.infinity_mass;
        let mut log_lower = f64::NEG_INFINITY;
        for k in (0..self.probs.len()).rev() {
            let loss = (self.lower + k as i64) as f64 * self.h;
            let p = self.probs[k];
            if mass_upper > delta
                && log_lower > f64::NEG_INFINITY
                && (mass_upper - delta).ln() - log_lower >= loss
            {
                break;
            }
            mass_upper += p;
            if p > 0.0 {
                log_lower = log_add(log_lower, p.ln() - loss);
            }
        }
        if mass_upper <= delta || (mass_upper - delta).ln() <= log_lower {
            0.0
        } else {
            (mass_upper - delta).ln() - log_lower
        }
    }

    fn from_dense(
        lower: i64,
        probs: Vec<f64>,
        infinity_mass: f64,
        h: f64,
        pessimistic: bool,
    ) -> Self {
        Self {
            lower,
            probs,
            infinity_mass,
            h,
            pessimistic,
        }
    }
}

/// Connect-the-dots pessimistic PMF of one subsampled-Gaussian release.
fn connect_dots(loss: &SubsampledGaussianLoss, p: &PldValidParams) -> Result<Pmf> {
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
    fn log_lower_tail(&self, eps: f64) -> f64 {
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
fn tangent_optimistic(loss: &SubsampledGaussianLoss, p: &PldValidParams) -> Result<Pmf> {
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
fn privacy_buckets_optimistic(loss: &SubsampledGaussianLoss, p: &PldValidParams) -> Result<Pmf> {
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

fn check_grid(points: usize, limit: usize) -> Result<()> {
    if points > limit {
        Err(PrivacyError::GridTooLarge {
            points,
            limit,
            hint: "use a coarser value_discretization_interval or the RDP accountant".into(),
        })
    } else {
        Ok(())
    }
}

/// Smallest n >= target whose prime factors are 2, 3 and 5 (fast FFT sizes).
pub(crate) fn next_fast_len(target: usize) -> usize {
    let mut best = target.next_power_of_two();
    let mut p5 = 1usize;
    while p5 < best {
        let mut p35 = p5;
        while p35 < best {
            let mut n = p35;
            while n < target {
                n *= 2;
            }
            if n < best {
                best = n;
            }
            p35 *= 3;
        }
        p5 *= 5;
    }
    best
}

/// Chernoff bounds (dp_accounting's `compute_self_convolve_bounds`) on the indices of the
/// `n`-fold self-convolution outside which at most `tail` mass lies.
fn self_convolve_bounds(probs: &[f64], n: u64, tail: f64) -> (i64, i64) {
    let len = probs.len();
    let mut upper = ((len - 1) as u64 * n) as i64;
    let mut lower = 0i64;
    if tail == 0.0 {
        return (lower, upper);
    }
    let orders: Vec<f64> = (-20..0)
        .chain(1..21)
        .map(|o| o as f64 / len as f64)
        .collect();
    let bounds: Vec<(f64, f64)> = orders
        .par_iter()
        .map(|&t| {
            let m = probs
                .iter()
                .enumerate()
                .filter(|(_, p)| **p > 0.0)
                .map(|(i, p)| i as f64 * t + p.ln())
                .fold(f64::NEG_INFINITY, f64::max);
            let s: f64 = probs
                .iter()
                .enumerate()
                .map(|(i, p)| p * (i as f64 * t - m).exp())
                .sum();
            let log_mgf = m + s.ln();
            (t, (n as f64 * log_mgf + (2.0 / tail).ln()) / t)
        })
        .collect();
    for (t, b) in bounds {
        if !b.is_finite() {
            continue;
        }
        if t > 0.0 {
            upper = upper.min(b.ceil() as i64);
        } else {
            lower = lower.max(b.floor() as i64);
        }
    }
    (lower, upper)
}

fn fft_in_place(buf: &mut [Complex<f64>], inverse: bool) {
    let mut planner = FftPlanner::<f64>::new();
    let fft = if inverse {
        planner.plan_fft_inverse(buf.len())
    } else {
        planner.plan_fft_forward(buf.len())
    };
    fft.process(buf);
}

impl Pmf {
    /// `n`-fold composition with itself, by one FFT, its `n`-th power and one inverse FFT.
    pub fn self_compose(&self, n: u64, tail: f64, max_points: usize) -> Result<Pmf> {
        if n == 0 {
            return Err(PrivacyError::invalid("count", 0, "must be >= 1"));
        }
        if n == 1 {
            return Ok(self.clone());
        }
        let (lb, ub) = self_convolve_bounds(&self.probs, n, tail);
        let out_len = (ub - lb + 1) as usize;
        let size = next_fast_len(out_len.max(self.probs.len()));
        check_grid(size, max_points)?;
        let mut buf: Vec<Complex<f64>> = vec![Complex::new(0.0, 0.0); size];
        for (b, &p) in buf.iter_mut().zip(&self.probs) {
            b.re = p;
        }
        fft_in_place(&mut buf, false);
        let exp =
            u32::try_from(n).map_err(|_| PrivacyError::invalid("count", n, "must be < 2^32"))?;
        buf.par_iter_mut().for_each(|c| *c = c.powu(exp));
        fft_in_place(&mut buf, true);
        let scale = 1.0 / size as f64;
        let probs: Vec<f64> = (0..out_len)
            .map(|k| {
                let idx = (k as i64 + lb).rem_euclid(size as i64) as usize;
                buf[idx].re * scale
            })
            .collect();
        let composed_inf = -(n as f64 * (-self.infinity_mass).ln_1p()).exp_m1();
        let infinity_mass = if self.pessimistic {
            tail + composed_inf
        } else {
            composed_inf
        };
        Ok(Pmf::from_dense(
            self.lower * n as i64 + lb,
            probs,
            infinity_mass,
            self.h,
            self.pessimistic,
        ))
    }

    /// Composition with another PMF on the same grid (linear convolution by FFT), truncating
    /// at most `tail` mass from the tails as dp_accounting's `_truncate_tails` does.
    pub fn compose(&self, other: &Pmf, tail: f64, max_points: usize) -> Result<Pmf> {
        let la = self.probs.len();
        let lb = other.probs.len();
        let out = la + lb - 1;
        let size = next_fast_len(out);
        check_grid(size, max_points)?;
        let mut a: Vec<Complex<f64>> = vec![Complex::new(0.0, 0.0); size];
        let mut b = a.clone();
        for (c, &p) in a.iter_mut().zip(&self.probs) {
            c.re = p;
        }
        for (c, &p) in b.iter_mut().zip(&other.probs) {
            c.re = p;
        }
        fft_in_place(&mut a, false);
        fft_in_place(&mut b, false);
        for (x, y) in a.iter_mut().zip(&b) {
            *x *= y;
        }
        fft_in_place(&mut a, true);
        let scale = 1.0 / size as f64;
        let mut probs: Vec<f64> = a[..out].iter().map(|c| (c.re * scale).max(0.0)).collect();
        let inf =
            self.infinity_mass + other.infinity_mass - self.infinity_mass * other.infinity_mass;
        let (offset, right) = truncate_tails(&mut probs, tail, self.pessimistic);
        Ok(Pmf::from_dense(
            self.lower + other.lower + offset as i64,
            probs,
            inf + right,
            self.h,
            self.pessimistic,
        ))
    }
}

/// Cuts a prefix and a suffix of at most `tail/2` mass each. Pessimistic: the prefix mass
/// goes to the first kept point and the suffix mass to +inf (returned); optimistic: the
/// suffix mass goes to the last kept point and the prefix is dropped.
fn truncate_tails(probs: &mut Vec<f64>, tail: f64, pessimistic: bool) -> (usize, f64) {
    if tail == 0.0 || probs.is_empty() {
        return (0, 0.0);
    }
    let prefix = |it: &mut dyn Iterator<Item = &f64>| {
        let mut s = 0.0;
        let mut n = 0;
        for v in it {
            s += v;
            if s > tail / 2.0 {
                return n;
            }
            n += 1;
        }
        n
    };
    let left = prefix(&mut probs.iter());
    let right_len = prefix(&mut probs.iter().rev());
    let mut right = probs.len() - right_len;
    right = right.max(left + 1).min(probs.len());
    let left = left.min(right - 1);
    let left_mass: f64 = probs[..left].iter().sum();
    let right_mass: f64 = probs[right..].iter().sum();
    let mut kept = probs[left..right].to_vec();
    if pessimistic {
        kept[0] += left_mass;
        *probs = kept;
        (left, right_mass)
    } else {
        let last = kept.len() - 1;
        kept[last] += right_mass;
        *probs = kept;
        (left, 0.0)
    }
}

/// Both directions of a composed add/remove PLD (`add == None`: symmetric).
#[derive(Debug, Clone)]
pub struct PairPld {
    /// The remove-direction PMF.
    pub remove: Pmf,
    /// The add-direction PMF, when it differs.
    pub add: Option<Pmf>,
}

impl PairPld {
    /// Mass at infinite loss (the worse direction): no finite epsilon exists below it.
    pub fn infinity_mass(&self) -> f64 {
        let r = self.remove.infinity_mass();
        self.add.as_ref().map_or(r, |a| r.max(a.infinity_mass()))
    }

    /// Epsilon for `delta`: the worse of the two directions.
    pub fn epsilon_for_delta(&self, delta: f64) -> f64 {
        let r = self.remove.epsilon_for_delta(delta);
        match &self.add {
            Some(a) => r.max(a.epsilon_for_delta(delta)),
            None => r,
        }
    }

    /// Delta for `epsilon`: the worse of the two directions.
    pub fn delta_for_epsilon(&self, eps: f64) -> f64 {
        let r = self.remove.delta_for_epsilon(eps);
        match &self.add {
            Some(a) => r.max(a.delta_for_epsilon(eps)),
            None => r,
        }
    }
}

/// The PLD accountant: built from checked [`PldValidParams`].
#[derive(Debug, Clone)]
pub struct PldAccountant {
    params: PldValidParams,
}

impl PldAccountant {
    /// An accountant with the given checked parameters.
    pub fn new(params: PldValidParams) -> Self {
        Self { params }
    }

    /// The settings.
    pub fn params(&self) -> &PldValidParams {
        &self.params
    }

    /// The single-release PMF of the subsampled Gaussian in one direction.
    pub fn single_pmf(&self, q: f64, sigma: f64, adj: Adjacency) -> Result<Pmf> {
        let loss = SubsampledGaussianLoss { q, sigma, adj };
        match self.params.estimate {
            Estimate::Pessimistic => connect_dots(&loss, &self.params),
            Estimate::Optimistic => tangent_optimistic(&loss, &self.params),
        }
    }

    fn entry_pld(&self, event: &DpEvent, count: u64) -> Result<PairPld> {
        let p = &self.params;
        let (q, sigma, n) = match *event {
            // dp_accounting composes a plain Gaussian exactly: n releases at sigma are one
            // release at sigma / sqrt(n).
            DpEvent::Gaussian { noise_multiplier } => {
                (1.0, noise_multiplier / (count as f64).sqrt(), 1)
            }
            DpEvent::PoissonGaussian {
                sampling_rate,
                noise_multiplier,
            } => (sampling_rate, noise_multiplier, count),
            DpEvent::Laplace { .. } => {
                return Err(PrivacyError::invalid(
                    "event",
                    "laplace",
                    "the PLD accountant handles Gaussian events; use the RDP accountant",
                ));
            }
            DpEvent::SampledWithoutReplacementGaussian { .. }
            | DpEvent::SampledWithReplacementGaussian { .. } => {
                return Err(PrivacyError::Unsupported {
                    event: event.name().into(),
                    accountant: "pld".into(),
                    reason: "no PLD of fixed-size sampling is implemented (dp_accounting 0.6 \
                             has none either); use the rdp accountant"
                        .into(),
                });
            }
        };
        let one = |adj| -> Result<Pmf> {
            self.single_pmf(q, sigma, adj)?.self_compose(
                n,
                p.tail_mass_truncation,
                p.max_grid_points,
            )
        };
        if q == 1.0 {
            Ok(PairPld {
                remove: one(Adjacency::Remove)?,
                add: None,
            })
        } else {
            let (r, a) = rayon::join(|| one(Adjacency::Remove), || one(Adjacency::Add));
            Ok(PairPld {
                remove: r?,
                add: Some(a?),
            })
        }
    }

    /// The composed PLD of a whole ledger.
    pub fn compose_ledger(&self, ledger: &Ledger) -> Result<PairPld> {
        ledger.validate()?;
        let p = &self.params;
        let mut acc: Option<PairPld> = None;
        for e in ledger.entries() {
            let next = self.entry_pld(&e.event, e.count)?;
            acc = Some(match acc {
                None => next,
                Some(cur) => {
                    let remove = cur.remove.compose(
                        &next.remove,
                        p.tail_mass_truncation,
                        p.max_grid_points,
                    )?;
                    let add = match (&cur.add, &next.add) {
                        (None, None) => None,
                        (a, b) => {
                            let a = a.as_ref().unwrap_or(&cur.remove);
                            let b = b.as_ref().unwrap_or(&next.remove);
                            Some(a.compose(b, p.tail_mass_truncation, p.max_grid_points)?)
                        }
                    };
                    PairPld { remove, add }
                }
            });
        }
        acc.ok_or_else(|| PrivacyError::Core(kiln_core::KilnError::Empty("ledger".into())))
    }

    /// Epsilon for `delta` (pessimistic unless the params say otherwise).
    /// An empty ledger (no release) has epsilon exactly 0. A `delta` below the mass the
    /// discretisation puts at infinite loss has no finite answer: a typed
    /// [`PrivacyError::DeltaBelowFloor`] (use RDP there).
    pub fn epsilon(&self, ledger: &Ledger, delta: f64) -> Result<f64> {
        check_delta(delta)?;
        if ledger.total_count() == 0 {
            return Ok(0.0);
        }
        let pld = self.compose_ledger(ledger)?;
        let e = pld.epsilon_for_delta(delta);
        if e.is_infinite() {
            return Err(PrivacyError::DeltaBelowFloor {
                accountant: "pld".into(),
                delta,
                floor: pld.infinity_mass(),
            });
        }
        Ok(match self.params.estimate {
            Estimate::Pessimistic => crate::rdp::round_up(e),
            Estimate::Optimistic => e,
        })
    }

    /// Delta for `epsilon`.
    pub fn delta(&self, ledger: &Ledger, epsilon: f64) -> Result<f64> {
        check_epsilon(epsilon)?;
        if ledger.total_count() == 0 {
            return Ok(0.0);
        }
        let pld = self.compose_ledger(ledger)?;
        let d = pld.delta_for_epsilon(epsilon);
        Ok(match self.params.estimate {
            Estimate::Pessimistic => crate::rdp::round_up(d).min(1.0),
            Estimate::Optimistic => d,
        })
    }
}

/// Exact hockey-stick divergence `delta(eps)` of ONE Poisson-subsampled Gaussian release
/// (worse of the two directions; closed form, no discretization).
pub fn single_release_delta(q: f64, sigma: f64, eps: f64) -> f64 {
    let r = SubsampledGaussianLoss {
        q,
        sigma,
        adj: Adjacency::Remove,
    }
    .delta_for_epsilon(eps);
    if q == 1.0 {
        return r;
    }
    let a = SubsampledGaussianLoss {
        q,
        sigma,
        adj: Adjacency::Add,
    }
    .delta_for_epsilon(eps);
    r.max(a)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hyperparams::PldParams;

    #[test]
    fn fast_lengths() {
        assert_eq!(next_fast_len(1), 1);
        assert_eq!(next_fast_len(7), 8);
        assert_eq!(next_fast_len(11), 12);
        assert_eq!(next_fast_len(1001), 1024);
        assert_eq!(next_fast_len(1025), 1080);
    }

    #[test]
    fn brute_force_composition_matches_fft() {
        // Three-point PMF composed 5 times: FFT vs direct convolution.
        let p = Pmf::from_dense(-1, vec![0.2, 0.5, 0.3], 0.0, 0.5, true);
        let fft = p.self_compose(5, 0.0, 1 << 20).unwrap();
        let mut direct = vec![1.0];
        for _ in 0..5 {
            let mut next = vec![0.0; direct.len() + 2];
            for (i, a) in direct.iter().enumerate() {
                for (j, b) in p.probs.iter().enumerate() {
                    next[i + j] += a * b;
                }
            }
            direct = next;
        }
        assert_eq!(fft.lower, -5);
        assert_eq!(fft.probs.len(), direct.len());
        for (a, b) in fft.probs.iter().zip(&direct) {
            assert!((a - b).abs() < 1e-14);
        }
        let c = p.compose(&p, 0.0, 1 << 20).unwrap();
        assert_eq!(c.lower, -2);
        assert!((c.probs[2] - (0.5 * 0.5 + 2.0 * 0.2 * 0.3)).abs() < 1e-14);
    }

    #[test]
    fn single_gaussian_matches_closed_form_hockey_stick() {
        // q = 1: delta(eps) = Phi(-eps s + 1/(2s)) - e^eps Phi(-eps s - 1/(2s)).
        let acc = PldAccountant::new(PldParams::new().check().unwrap());
        let s = 2.0;
        let pmf = acc.single_pmf(1.0, s, Adjacency::Remove).unwrap();
        for &eps in &[0.0, 0.3, 1.0, 2.0] {
            let exact = norm_cdf(-eps * s + 0.5 / s) - eps.exp() * norm_cdf(-eps * s - 0.5 / s);
            let got = pmf.delta_for_epsilon(eps);
            assert!(got >= exact - 1e-12, "pessimistic below truth at {eps}");
            assert!(
                (got - exact).abs() < 1e-6 * exact.max(1e-9) + 1e-12,
                "{eps}: {got} vs {exact}"
            );
        }
    }

    #[test]
    fn tangent_optimistic_single_release_is_below_the_truth_everywhere() {
        let p = PldParams::new()
            .estimate(Estimate::Optimistic)
            .value_discretization_interval(1e-2)
            .check()
            .unwrap();
        for &(q, s) in &[(1.0, 2.0), (0.01, 1.1), (0.2, 0.7), (0.05, 4.0)] {
            for adj in [Adjacency::Remove, Adjacency::Add] {
                let loss = SubsampledGaussianLoss { q, sigma: s, adj };
                let pmf = tangent_optimistic(&loss, &p).unwrap();
                let total: f64 = pmf.probs.iter().sum::<f64>() + pmf.infinity_mass;
                assert!((total - 1.0).abs() < 1e-9, "mass {total}");
                let mut worst_gap: f64 = 0.0;
                // Off-grid epsilons, negative ones included (tradeoff-curve domination).
                for k in -300..300 {
                    let eps = k as f64 * 0.0137;
                    let exact = loss.delta_for_epsilon(eps);
                    let got = pmf.delta_for_epsilon(eps);
                    // 1e-11: floating-point rounding in the hull and in the sums; a
                    // construction error would be O(h^2) ~ 1e-4 here.
                    assert!(
                        got <= exact + 1e-11,
                        "q {q} s {s} {adj:?} eps {eps}: {got} > {exact}"
                    );
                    worst_gap = worst_gap.max(exact - got);
                }
                // O(h^2) below the truth, where rounding losses down is O(h).
                let buckets = privacy_buckets_optimistic(&loss, &p).unwrap();
                let mut bucket_gap: f64 = 0.0;
                for k in -300..300 {
                    let eps = k as f64 * 0.0137;
                    bucket_gap = bucket_gap
                        .max(loss.delta_for_epsilon(eps) - buckets.delta_for_epsilon(eps));
                }
                assert!(
                    worst_gap <= bucket_gap,
                    "{worst_gap} vs buckets {bucket_gap}"
                );
            }
        }
    }
}
