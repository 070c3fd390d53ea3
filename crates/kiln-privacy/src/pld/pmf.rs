//! The discrete privacy loss distribution ([`Pmf`]): queries (epsilon for delta, delta for
//! epsilon) and composition by FFT with Chernoff-bounded tail truncation.

use rayon::prelude::*;
use rustfft::FftPlanner;
use rustfft::num_complex::Complex;

use crate::errors::{PrivacyError, Result};
use crate::special::log_add;

/// A discrete privacy loss distribution on the grid `(lower + k) h`, plus mass at +infinity.
#[derive(Debug, Clone, PartialEq)]
pub struct Pmf {
    pub(crate) lower: i64,
    pub(crate) probs: Vec<f64>,
    pub(crate) infinity_mass: f64,
    pub(crate) h: f64,
    pub(crate) pessimistic: bool,
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

    pub(crate) fn from_dense(
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

pub(crate) fn check_grid(points: usize, limit: usize) -> Result<()> {
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
pub(crate) fn self_convolve_bounds(probs: &[f64], n: u64, tail: f64) -> (i64, i64) {
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

pub(crate) fn fft_in_place(buf: &mut [Complex<f64>], inverse: bool) {
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
pub(crate) fn truncate_tails(probs: &mut Vec<f64>, tail: f64, pessimistic: bool) -> (usize, f64) {
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
