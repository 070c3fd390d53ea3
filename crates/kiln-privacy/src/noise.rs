//! Noise that is safe to release: an exact discrete Gaussian on a fine lattice, drawn from a
//! cryptographically secure generator seeded by the operating system.
//!
//! Why not `N(0, s^2)` in floating point: textbook samplers (Box–Muller, ziggurat) produce a
//! set of reachable doubles that depends on the input, and an observer of the released value can
//! tell inputs apart from the low-order bits (Mironov 2012 for Laplace; Jin et al. 2022 and
//! Holohan & Braghin 2021 for Gaussians). And noise from a seeded stream (the old default seed
//! 0) can simply be regenerated and subtracted.
//!
//! What kiln does instead (Canonne, Kamath & Steinke 2020, "The Discrete Gaussian for
//! Differential Privacy"):
//! 1. pick a lattice spacing `gamma`, a power of two with `C / gamma` about `2^26 / sigma`;
//! 2. round each coordinate of the clipped sum to the lattice (`round(s / gamma)`, integers);
//! 3. add integer noise from the discrete Gaussian `N_Z(0, sigma_Z^2)` sampled *exactly*
//!    (CKS20 Algorithms 1–3, rational arithmetic on `u128`, no floating point);
//! 4. multiply back by `gamma` (exact: a power of two times an integer below 2^53).
//!
//! The lattice's cost, stated: rounding can move each coordinate by half a step, so the rounded
//! sums of neighbouring batches differ by at most `C + gamma * sqrt(d)` in L2 (d = number of
//! coordinates) instead of `C`. kiln scales the noise to that sensitivity,
//! `sigma_Z = ceil-sqrt(sigma^2 (C/gamma + sqrt d)^2)`, so the accountant's noise multiplier
//! `sigma_Z / (C/gamma + sqrt d)` is never below the requested `sigma`; the price is noise larger
//! by the factor [`LatticeNoise::inflation`] = `1 + gamma sqrt(d) / C` (about `1 + 1.5e-8 sigma
//! sqrt(d)`: 1.000015 for a million coordinates at sigma 1).
//!
//! Accounting: CKS20 Theorem 14 gives the d-dimensional discrete Gaussian the continuous
//! Gaussian's concentrated DP, `rho = Delta^2 / (2 sigma_Z^2)`, plus a term
//! `tau = 10 sum_k exp(-2 pi^2 sigma_Z^2 k/(k+1))` per coordinate, which is below
//! `exp(-10^6)` here (`sigma_Z >= 1000`). kiln's accountants then apply the continuous
//! Gaussian's subsampled formulas with the effective noise multiplier; this is the standard
//! practice for discrete Gaussians at these scales (e.g. Kairouz, Liu & Steinke 2021), not a
//! separate proof for the subsampled discrete case.

use chacha20::ChaCha20Rng;
use rand::{Rng, SeedableRng, TryRng};
use serde::{Deserialize, Serialize};

use crate::errors::{PrivacyError, Result};

/// Where noise comes from: the operating system (private) or a fixed seed (reproducible, NOT
/// private — whoever knows the seed can regenerate the noise and subtract it).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NoiseSource {
    /// ChaCha20 seeded from the operating system on every run. The default.
    #[default]
    Secure,
    /// ChaCha20 seeded from this value: reproducible runs for tests and experiments only. A run
    /// that uses it is marked `"private": false` in its ledger and reports.
    InsecureSeed(u64),
}

impl NoiseSource {
    /// Whether released values from this source are private.
    pub fn is_private(&self) -> bool {
        matches!(self, NoiseSource::Secure)
    }

    /// Why a run with this source is not private, if it is not.
    pub fn not_private_reason(&self) -> Option<String> {
        match self {
            NoiseSource::Secure => None,
            NoiseSource::InsecureSeed(s) => Some(format!(
                "noise drawn from insecure_seed {s}: anyone with the seed can subtract it"
            )),
        }
    }

    /// The generator: ChaCha20 (a CSPRNG) seeded from the OS, or from the insecure seed.
    pub fn rng(&self) -> Result<NoiseRng> {
        let inner = match self {
            NoiseSource::Secure => {
                let mut seed = [0u8; 32];
                rand::rngs::SysRng
                    .try_fill_bytes(&mut seed)
                    .map_err(|e| PrivacyError::NoiseSource(e.to_string()))?;
                ChaCha20Rng::from_seed(seed)
            }
            NoiseSource::InsecureSeed(s) => ChaCha20Rng::seed_from_u64(*s),
        };
        Ok(NoiseRng { inner })
    }
}

/// The generator noise is drawn from (ChaCha20). Deliberately not `Clone`: a copy would
/// draw the same noise twice.
#[derive(Debug)]
pub struct NoiseRng {
    inner: ChaCha20Rng,
}

impl NoiseRng {
    /// Uniform in `[0, 1)` with 53 random bits (batch sampling decisions; never released).
    #[cfg(feature = "burn")]
    pub(crate) fn uniform(&mut self) -> f64 {
        (self.inner.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
    }

    fn next_u128(&mut self) -> u128 {
        (u128::from(self.inner.next_u64()) << 64) | u128::from(self.inner.next_u64())
    }

    /// Uniform integer in `0..n` (`n > 0`), by rejection: no modulo bias.
    fn below(&mut self, n: u128) -> u128 {
        debug_assert!(n > 0);
        let zone = u128::MAX - (u128::MAX % n);
        loop {
            let x = self.next_u128();
            if x < zone {
                return x % n;
            }
        }
    }

    /// Bernoulli(num / den), exactly.
    fn bernoulli(&mut self, num: u128, den: u128) -> bool {
        self.below(den) < num
    }

    /// Bernoulli(exp(-num/den)) for `num <= den` (CKS20 Algorithm 1).
    fn bernoulli_exp_le1(&mut self, num: u128, den: u128) -> bool {
        let mut k: u128 = 1;
        // Bernoulli(gamma / k); a denominator past u128 means a probability below 2^-64
        // after at least 2^64 / den trials, i.e. never in practice: stop there.
        while let Some(d) = den.checked_mul(k) {
            if !self.bernoulli(num, d) {
                break;
            }
            k += 1;
        }
        k % 2 == 1
    }

    /// Bernoulli(exp(-num/den)) for any `num / den >= 0`.
    fn bernoulli_exp(&mut self, num: u128, den: u128) -> bool {
        let whole = num / den;
        let mut i = 0;
        while i < whole {
            if !self.bernoulli_exp_le1(1, 1) {
                return false;
            }
            i += 1;
        }
        self.bernoulli_exp_le1(num % den, den)
    }

    /// Discrete Laplace with scale `t` (CKS20 Algorithm 2): `P(x) ∝ exp(-|x| / t)`.
    fn discrete_laplace(&mut self, t: u128) -> i128 {
        loop {
            let u = self.below(t);
            if !self.bernoulli_exp(u, t) {
                continue;
            }
            let mut v: u128 = 0;
            while self.bernoulli_exp(1, 1) {
                v += 1;
            }
            let x = u + t * v;
            let negative = self.bernoulli(1, 2);
            if negative && x == 0 {
                continue;
            }
            let x = x as i128;
            return if negative { -x } else { x };
        }
    }

    /// One draw of the discrete Gaussian `N_Z(0, s2)`, `P(x) ∝ exp(-x^2 / (2 s2))`, for an
    /// integer variance `s2` (CKS20 Algorithm 3).
    fn discrete_gaussian(&mut self, s2: u128) -> i128 {
        let t = s2.isqrt() + 1;
        let den = 2 * s2 * t * t;
        loop {
            let y = self.discrete_laplace(t);
            // Accept with probability exp(-(|y| - s2/t)^2 / (2 s2)) = exp(-(|y| t - s2)^2 / den).
            let a = y.unsigned_abs();
            let Some(at) = a.checked_mul(t) else { continue };
            let diff = at.abs_diff(s2);
            // An overflow means |y| near 2^64 / t, probability below exp(-2^30): reject.
            let Some(num) = diff.checked_mul(diff) else {
                continue;
            };
            if self.bernoulli_exp(num, den) {
                return y;
            }
        }
    }
}

/// Largest noise scale in lattice units kiln targets: keeps every intermediate of the exact
/// sampler inside `u128`.
const TARGET_SIGMA_Z: f64 = (1u64 << 26) as f64;

/// Largest accepted sensitivity inflation `gamma sqrt(d) / C`.
const MAX_INFLATION: f64 = 1e-2;

/// Gaussian noise for a clipped sum of `d` coordinates, on a lattice (see the module docs).
#[derive(Debug, Clone, PartialEq)]
pub struct LatticeNoise {
    gamma: f64,
    sigma_z2: u128,
    sensitivity_z: f64,
    clip_norm: f64,
    dims: usize,
}

impl LatticeNoise {
    /// Lattice noise for clipping norm `clip_norm` (C), noise multiplier `sigma` and `dims`
    /// coordinates. Errors when the lattice would inflate the sensitivity by more than 1%
    /// (about `sigma sqrt(d) > 6.7e5`: split the release).
    pub fn new(clip_norm: f64, sigma: f64, dims: usize) -> Result<Self> {
        if !(clip_norm.is_finite() && clip_norm > 0.0) {
            return Err(PrivacyError::invalid("clip_norm", clip_norm, "must be > 0"));
        }
        if !(sigma.is_finite() && sigma > 0.0) {
            return Err(PrivacyError::invalid(
                "noise_multiplier",
                sigma,
                "must be > 0",
            ));
        }
        if dims == 0 {
            return Err(PrivacyError::invalid("dims", 0, "must be >= 1"));
        }
        // C / gamma about TARGET_SIGMA_Z / sigma, gamma a power of two (exact rescaling).
        let ratio = (TARGET_SIGMA_Z / sigma).max(1.0);
        let gamma = 2f64.powi((clip_norm / ratio).log2().floor() as i32);
        let sqrt_d = (dims as f64).sqrt();
        let inflation = gamma * sqrt_d / clip_norm;
        if inflation > MAX_INFLATION {
            return Err(PrivacyError::invalid(
                "noise_multiplier",
                sigma,
                &format!(
                    "lattice noise over {dims} coordinates at this sigma would inflate the \
                     sensitivity by {:.2}% (> 1%); release fewer coordinates at once",
                    inflation * 100.0
                ),
            ));
        }
        let sensitivity_z = clip_norm / gamma + sqrt_d;
        let s = sigma * sensitivity_z;
        // Round the variance up, so the effective multiplier is never below sigma.
        let sigma_z2 = (s * s).ceil() as u128 + 1;
        Ok(Self {
            gamma,
            sigma_z2,
            sensitivity_z,
            clip_norm,
            dims,
        })
    }

    /// The lattice spacing (a power of two).
    pub fn gamma(&self) -> f64 {
        self.gamma
    }

    /// Noise standard deviation in gradient units, `gamma sigma_Z`.
    pub fn std(&self) -> f64 {
        self.gamma * (self.sigma_z2 as f64).sqrt()
    }

    /// The noise multiplier the accountant sees: `sigma_Z / (C/gamma + sqrt d)` (>= sigma).
    pub fn effective_noise_multiplier(&self) -> f64 {
        (self.sigma_z2 as f64).sqrt() / self.sensitivity_z
    }

    /// Noise larger than the continuous mechanism's by this factor: `1 + gamma sqrt(d) / C`.
    pub fn inflation(&self) -> f64 {
        self.sensitivity_z * self.gamma / self.clip_norm
    }

    /// One integer draw of `N_Z(0, sigma_Z^2)` (lattice units).
    pub fn draw_lattice(&self, rng: &mut NoiseRng) -> i128 {
        rng.discrete_gaussian(self.sigma_z2)
    }

    /// `round(sum / gamma) + N_Z(0, sigma_Z^2)`, times `gamma`, coordinate by coordinate.
    pub fn privatize(&self, sum: &[f64], rng: &mut NoiseRng) -> Result<Vec<f64>> {
        if sum.len() != self.dims {
            return Err(kiln_core::KilnError::shape("clipped sum", self.dims, sum.len()).into());
        }
        kiln_core::errors::ensure_finite(sum, "clipped sum")?;
        let limit = 2f64.powi(52);
        sum.iter()
            .map(|&v| {
                let k = (v / self.gamma).round();
                let z = k + self.draw_lattice(rng) as f64;
                if z.abs() >= limit {
                    return Err(PrivacyError::invalid(
                        "clipped sum",
                        v,
                        "too large for the lattice (|sum / gamma| >= 2^52): clip harder",
                    ));
                }
                Ok(z * self.gamma)
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exact_bernoulli_exp_has_the_right_mean() {
        let mut r = NoiseSource::InsecureSeed(1).rng().unwrap();
        let n = 200_000;
        for (num, den) in [(1u128, 2u128), (3, 1), (7, 3)] {
            let hits = (0..n).filter(|_| r.bernoulli_exp(num, den)).count() as f64;
            let p = (-(num as f64) / den as f64).exp();
            let se = (p * (1.0 - p) / n as f64).sqrt();
            assert!((hits / n as f64 - p).abs() < 5.0 * se, "{num}/{den}");
        }
    }

    #[test]
    fn lattice_is_a_power_of_two_and_never_under_noises() {
        let ln = LatticeNoise::new(1.0, 1.1, 1000).unwrap();
        assert_eq!(ln.gamma().log2().fract(), 0.0);
        assert!(ln.effective_noise_multiplier() >= 1.1);
        assert!(ln.inflation() < 1.0 + 1e-4);
        assert!(LatticeNoise::new(1.0, 1.0, 10usize.pow(13)).is_err());
        assert!(LatticeNoise::new(0.0, 1.0, 3).is_err());
        assert!(LatticeNoise::new(1.0, f64::NAN, 3).is_err());
    }
}
