//! The privacy-random-variable (PRV) accountant of Gopi, Lee & Wutschitz 2021 ("Numerical
//! Composition of Differential Privacy"), with its error bounds: a *certified* bracket
//! `lower <= epsilon <= upper` for Poisson-subsampled Gaussian ledgers.
//!
//! The privacy random variable of one release is `Y = ln(P(w) / Q(w))` with `w ~ P`, where
//! `P = (1-q) N(0, s^2) + q N(1, s^2)` and `Q = N(0, s^2)` (add/remove neighbours, the
//! dominating pair). Its CDF is closed-form:
//! `F(t) = (1-q) Phi(z s + 1/(2s)) + q Phi(z s - 1/(2s))`, `z = ln((e^t - 1 + q) / q)`.
//!
//! The method:
//! 1. truncate `Y` to `[-L, L]`, where `L` is 3 more than the largest of the RDP epsilon of the
//!    whole ledger at `delta_error / 4` and of each single release at
//!    `delta_error / (8 N)` (Remark 5.6), so the mass outside is negligible against
//!    `delta_error`;
//! 2. discretise on a grid of mesh `h = eps_error / sqrt(N/2 ln(12 / delta_error))`
//!    (Theorem 5.5), each cell's mass at its centre, then shift the grid so the discrete mean
//!    equals the truncated continuous mean (so the rounding errors of the `N` compositions have
//!    mean zero and Hoeffding's bound applies);
//! 3. compose by FFT (circular on `[-L, L]`: what wraps around is the mass beyond `L`);
//! 4. `delta(eps) = E[(1 - e^{eps - Y})_+]` on the composed grid, solved for `eps` exactly on
//!    each piece; then `upper = eps(delta - delta_error) + eps_error` and
//!    `lower = eps(delta + delta_error) - eps_error` (Theorem 5.5's guarantee).
//!
//! Defaults follow what `../shared/vectors` ran prv_accountant 0.2 with:
//! `eps_error = max(0.01, 1e-3 * RDP epsilon)`, `delta_error = 1e-3 * delta`.

use rayon::prelude::*;
use rustfft::FftPlanner;
use rustfft::num_complex::Complex;
use serde::{Deserialize, Serialize};

use crate::accountant::{AccountantKind, epsilon as accountant_epsilon};
use crate::errors::{PrivacyError, Result};
use crate::event::{DpEvent, Ledger, check_delta};
use crate::special::norm_cdf;

/// Unchecked PRV accountant settings (see the module docs for the defaults).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PrvParams {
    eps_error: Option<f64>,
    delta_error_ratio: f64,
    max_grid_points: usize,
}

impl Default for PrvParams {
    /// `eps_error` automatic (`max(0.01, 1e-3 * RDP epsilon)`), `delta_error = 1e-3 delta`,
    /// at most 2e7 grid points (prv_accountant's practical limit in our reference runs).
    fn default() -> Self {
        Self {
            eps_error: None,
            delta_error_ratio: 1e-3,
            max_grid_points: 20_000_000,
        }
    }
}

impl PrvParams {
    /// The defaults.
    pub fn new() -> Self {
        Self::default()
    }
    /// Fixed epsilon error (width of half the bracket, before the delta error).
    pub fn eps_error(mut self, eps_error: f64) -> Self {
        self.eps_error = Some(eps_error);
        self
    }
    /// `delta_error` as a fraction of the target delta.
    pub fn delta_error_ratio(mut self, ratio: f64) -> Self {
        self.delta_error_ratio = ratio;
        self
    }
    /// Largest grid the accountant may allocate.
    pub fn max_grid_points(mut self, n: usize) -> Self {
        self.max_grid_points = n;
        self
    }
    /// Validates: `eps_error > 0` when set, ratio in (0, 1), at least 16 grid points.
    pub fn check(self) -> Result<PrvValidParams> {
        if let Some(e) = self.eps_error
            && !(e.is_finite() && e > 0.0)
        {
            return Err(PrivacyError::invalid(
                "eps_error",
                e,
                "must be finite and > 0",
            ));
        }
        let r = self.delta_error_ratio;
        if !(r > 0.0 && r < 1.0) {
            return Err(PrivacyError::invalid(
                "delta_error_ratio",
                r,
                "must be in (0, 1)",
            ));
        }
        if self.max_grid_points < 16 {
            return Err(PrivacyError::invalid(
                "max_grid_points",
                self.max_grid_points,
                "must be >= 16",
            ));
        }
        Ok(PrvValidParams(self))
    }
}

/// Checked PRV settings.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PrvValidParams(PrvParams);

/// A certified epsilon bracket and the estimate inside it.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct PrvEpsilon {
    /// The true epsilon is at least this.
    pub lower: f64,
    /// The discretised composition's own answer.
    pub estimate: f64,
    /// The true epsilon is at most this.
    pub upper: f64,
    /// The epsilon error used (`h` follows from it).
    pub eps_error: f64,
    /// The delta error used.
    pub delta_error: f64,
    /// Grid points of the composition.
    pub grid_points: usize,
}

/// One release's privacy random variable (Poisson-subsampled Gaussian; `q = 1` is the plain
/// Gaussian mechanism).
#[derive(Debug, Clone, Copy)]
struct SubsampledGaussianPrv {
    q: f64,
    sigma: f64,
}

impl SubsampledGaussianPrv {
    fn from_event(event: &DpEvent) -> Result<Self> {
        match *event {
            DpEvent::Gaussian { noise_multiplier } => Ok(Self {
                q: 1.0,
                sigma: noise_multiplier,
            }),
            DpEvent::PoissonGaussian {
                sampling_rate,
                noise_multiplier,
            } => Ok(Self {
                q: sampling_rate,
                sigma: noise_multiplier,
            }),
            other => Err(PrivacyError::Unsupported {
                event: other.name().into(),
                accountant: "prv".into(),
                reason: "kiln's PRV accountant covers Gaussian and Poisson-subsampled Gaussian \
                         events; use rdp for this ledger"
                    .into(),
            }),
        }
    }

    /// `w` at which `Y = t` (`-inf` below the support `ln(1 - q)`).
    fn omega(&self, t: f64) -> f64 {
        let s2 = self.sigma * self.sigma;
        if self.q >= 1.0 {
            return t * s2 + 0.5;
        }
        let floor = (1.0 - self.q).ln();
        if t <= floor {
            return f64::NEG_INFINITY;
        }
        // z = ln((e^t - (1 - q)) / q), written to keep precision near the support's edge.
        let z = t + (-(1.0 - self.q) * (-t).exp()).ln_1p() - self.q.ln();
        z * s2 + 0.5
    }

    /// `P(Y <= t)` and `P(Y > t)`, each computed directly (no `1 - F` cancellation).
    fn cdf_sf(&self, t: f64) -> (f64, f64) {
        let w = self.omega(t);
        if w == f64::NEG_INFINITY {
            return (0.0, 1.0);
        }
        let s = self.sigma;
        let (a, b) = (w / s, (w - 1.0) / s);
        let cdf = (1.0 - self.q) * norm_cdf(a) + self.q * norm_cdf(b);
        let sf = (1.0 - self.q) * norm_cdf(-a) + self.q * norm_cdf(-b);
        (cdf, sf)
    }

    /// `E[Y ; lo < Y <= hi]`, integrated over `w` (Simpson, the integrand is smooth).
    fn partial_mean(&self, lo: f64, hi: f64) -> f64 {
        let s = self.sigma;
        let s2 = s * s;
        let w_lo = self.omega(lo).max(-40.0 * s);
        let w_hi = self.omega(hi).min(1.0 + 40.0 * s);
        if w_hi <= w_lo {
            return 0.0;
        }
        let q = self.q;
        let f = |w: f64| {
            let x = (2.0 * w - 1.0) / (2.0 * s2);
            let y = if q >= 1.0 {
                x
            } else {
                (q * x.exp_m1()).ln_1p()
            };
            let phi = |u: f64| (-0.5 * u * u).exp() / (s * (std::f64::consts::TAU).sqrt());
            y * ((1.0 - q) * phi(w / s) + q * phi((w - 1.0) / s))
        };
        let n = 20_000;
        let step = (w_hi - w_lo) / n as f64;
        let inner: f64 = (1..n)
            .into_par_iter()
            .map(|i| {
                let w = w_lo + i as f64 * step;
                if i % 2 == 1 { 4.0 * f(w) } else { 2.0 * f(w) }
            })
            .sum();
        (f(w_lo) + f(w_hi) + inner) * step / 3.0
    }
}

/// One release discretised on the shared grid `t_k = (k0 + k) h + shift`.
struct DiscretePrv {
    probs: Vec<f64>,
    shift: f64,
}

fn discretise(prv: &SubsampledGaussianPrv, k0: i64, size: usize, h: f64) -> Result<DiscretePrv> {
    let t = |k: usize| (k0 + k as i64) as f64 * h;
    // CDF and survival at the size + 1 cell edges, once each.
    let edges: Vec<(f64, f64)> = (0..=size)
        .into_par_iter()
        .map(|i| prv.cdf_sf((k0 + i as i64) as f64 * h - h / 2.0))
        .collect();
    let mut probs: Vec<f64> = edges
        .windows(2)
        .map(|w| {
            let ((c0, s0), (c1, s1)) = (w[0], w[1]);
            // From whichever tail keeps precision.
            if c0 < 0.5 {
                (c1 - c0).max(0.0)
            } else {
                (s0 - s1).max(0.0)
            }
        })
        .collect();
    let total: f64 = probs.iter().sum();
    if !(total > 0.0 && total.is_finite()) {
        return Err(PrivacyError::numerical(
            "prv discretisation",
            "no probability mass on the grid",
        ));
    }
    probs.iter_mut().for_each(|p| *p /= total);
    let (lo, hi) = (t(0) - h / 2.0, t(size - 1) + h / 2.0);
    let mean_c = prv.partial_mean(lo, hi) / total;
    let mean_d: f64 = probs.iter().enumerate().map(|(k, p)| t(k) * p).sum();
    let shift = mean_c - mean_d;
    if shift.abs() >= h / 2.0 {
        return Err(PrivacyError::numerical(
            "prv discretisation",
            format!("discrete mean off by {shift:e}, more than half the mesh {h:e}"),
        ));
    }
    Ok(DiscretePrv { probs, shift })
}

/// The composed discrete PRV on `t_k = (k0 + k) h + shift`.
struct ComposedPrv {
    probs: Vec<f64>,
    k0: i64,
    h: f64,
    shift: f64,
}

impl ComposedPrv {
    /// Smallest `eps >= 0` with `E[(1 - e^{eps - Y})_+] <= delta`, exact on each grid piece.
    fn epsilon_for_delta(&self, delta: f64) -> f64 {
        let t = |k: usize| (self.k0 + k as i64) as f64 * self.h + self.shift;
        // Walk down from the top: on eps in [t_{k-1}, t_k), delta(eps) = d1 - e^eps d2 with
        // d1 = sum_{j >= k} p_j and d2 = sum_{j >= k} p_j e^{-t_j}.
        let (mut d1, mut d2) = (0.0, 0.0);
        for k in (0..self.probs.len()).rev() {
            let p = self.probs[k].max(0.0);
            d1 += p;
            d2 += p * (-t(k)).exp();
            let left = if k == 0 { f64::NEG_INFINITY } else { t(k - 1) };
            // delta(left) = d1 - e^left d2; if it exceeds the target the answer is in this piece.
            if d1 - left.exp() * d2 > delta {
                return ((d1 - delta) / d2).ln().max(0.0);
            }
        }
        0.0
    }
}

fn fft(buf: &mut [Complex<f64>], inverse: bool) {
    let mut planner = FftPlanner::<f64>::new();
    let plan = if inverse {
        planner.plan_fft_inverse(buf.len())
    } else {
        planner.plan_fft_forward(buf.len())
    };
    plan.process(buf);
}

/// Groups the ledger's entries by release (same `q`, `sigma`), counting compositions.
fn releases(ledger: &Ledger) -> Result<Vec<(SubsampledGaussianPrv, DpEvent, u64)>> {
    let mut out: Vec<(SubsampledGaussianPrv, DpEvent, u64)> = Vec::new();
    for entry in ledger.entries() {
        let prv = SubsampledGaussianPrv::from_event(&entry.event)?;
        match out.iter_mut().find(|(_, e, _)| *e == entry.event) {
            Some((_, _, n)) => *n += entry.count,
            None => out.push((prv, entry.event, entry.count)),
        }
    }
    Ok(out)
}

impl PrvValidParams {
    /// The certified epsilon bracket of `ledger` at `delta`.
    pub fn epsilon(&self, ledger: &Ledger, delta: f64) -> Result<PrvEpsilon> {
        check_delta(delta)?;
        ledger.validate()?;
        let groups = releases(ledger)?;
        let n_total: u64 = groups.iter().map(|g| g.2).sum();
        let delta_error = self.0.delta_error_ratio * delta;
        if n_total == 0 {
            return Ok(PrvEpsilon {
                lower: 0.0,
                estimate: 0.0,
                upper: 0.0,
                eps_error: 0.0,
                delta_error,
                grid_points: 0,
            });
        }
        let eps_error = match self.0.eps_error {
            Some(e) => e,
            None => (1e-3 * accountant_epsilon(AccountantKind::Rdp, ledger, delta)?).max(0.01),
        };
        // Remark 5.6: a domain holding all but a negligible part of the mass.
        let mut l = accountant_epsilon(AccountantKind::Rdp, ledger, delta_error / 4.0)?;
        for (_, event, _) in &groups {
            let single = Ledger::single(*event, 1)?;
            let d = delta_error / (8.0 * n_total as f64);
            l = l.max(accountant_epsilon(AccountantKind::Rdp, &single, d)?);
        }
        let l = l.max(eps_error) + 3.0;
        // Theorem 5.5's mesh.
        let n = n_total as f64;
        let h = eps_error / (n / 2.0 * (12.0 / delta_error).ln()).sqrt();
        let k0 = (-l / h).floor() as i64;
        let k1 = (l / h).ceil() as i64;
        let size = (k1 - k0 + 1) as usize;
        if size > self.0.max_grid_points || h.is_nan() || h <= 0.0 {
            return Err(PrivacyError::GridTooLarge {
                points: size,
                limit: self.0.max_grid_points,
                hint: format!("raise eps_error above {eps_error} or use the rdp accountant"),
            });
        }
        // Extra points (beyond L) only make the FFT fast; they hold the wrapped-around tail.
        let fft_len = crate::pld::pmf::next_fast_len(size);
        let mut product = vec![Complex::new(1.0, 0.0); fft_len];
        let mut shift = 0.0;
        for (prv, _, count) in &groups {
            let d = discretise(prv, k0, size, h)?;
            shift += d.shift * *count as f64;
            let mut buf: Vec<Complex<f64>> = vec![Complex::new(0.0, 0.0); fft_len];
            for (b, &p) in buf.iter_mut().zip(&d.probs) {
                b.re = p;
            }
            fft(&mut buf, false);
            let exp = u32::try_from(*count)
                .map_err(|_| PrivacyError::invalid("count", count, "must be < 2^32"))?;
            product
                .par_iter_mut()
                .zip(buf.par_iter())
                .for_each(|(acc, c)| *acc *= c.powu(exp));
        }
        fft(&mut product, true);
        // The sum of N grid indices starting at k0 sits at index s + N k0; rotate so that the
        // circular result lands on [k0, k0 + size): index j holds s = j - (N - 1) k0 (mod len).
        let len = fft_len as i64;
        let rot = ((n_total as i64 - 1) % len * (k0 % len)).rem_euclid(len);
        let scale = 1.0 / fft_len as f64;
        let probs: Vec<f64> = (0..size as i64)
            .map(|j| product[((j - rot).rem_euclid(len)) as usize].re * scale)
            .collect();
        let composed = ComposedPrv {
            probs,
            k0,
            h,
            shift,
        };
        let eps = |d: f64| composed.epsilon_for_delta(d);
        Ok(PrvEpsilon {
            lower: (eps(delta + delta_error) - eps_error).max(0.0),
            estimate: eps(delta),
            upper: eps(delta - delta_error) + eps_error,
            eps_error,
            delta_error,
            grid_points: size,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cdf_and_survival_agree_and_bound_the_support() {
        let prv = SubsampledGaussianPrv {
            q: 0.01,
            sigma: 1.1,
        };
        for t in [-0.005, 0.0, 0.3, 2.0] {
            let (c, s) = prv.cdf_sf(t);
            assert!((c + s - 1.0).abs() < 1e-14, "{t}");
        }
        assert_eq!(prv.cdf_sf((0.99f64).ln() - 1e-9), (0.0, 1.0));
    }

    #[test]
    fn gaussian_bracket_contains_the_closed_form() {
        // q = 1: Y ~ N(mu, 2 mu) with mu = n / (2 s^2) after n compositions; delta(eps) is
        // the Gaussian mechanism's with sigma / sqrt(n) (Balle & Wang 2018).
        let sigma = 2.0;
        let n = 16;
        let ledger = Ledger::single(DpEvent::gaussian(sigma).unwrap(), n).unwrap();
        let r = PrvParams::new()
            .check()
            .unwrap()
            .epsilon(&ledger, 1e-5)
            .unwrap();
        let s = sigma / (n as f64).sqrt();
        let delta_of =
            |eps: f64| norm_cdf(0.5 / s - eps * s) - eps.exp() * norm_cdf(-0.5 / s - eps * s);
        let (mut a, mut b) = (0.0, 50.0);
        for _ in 0..200 {
            let m = 0.5 * (a + b);
            if delta_of(m) > 1e-5 { a = m } else { b = m }
        }
        assert!(r.lower <= a && a <= r.upper, "{r:?} vs {a}");
        assert!((r.estimate - a).abs() < r.eps_error, "{r:?} vs {a}");
    }
}
