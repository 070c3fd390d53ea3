//! Collocation point samplers: uniform random, Latin hypercube and Sobol.

use rand::Rng;
use rand::seq::SliceRandom;
use serde::{Deserialize, Serialize};

use kiln_core::KilnError;

use crate::dual::MAX_DIM;
use crate::errors::Result;

/// How collocation points are placed in a box.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Sampler {
    /// Independent uniform draws.
    Uniform,
    /// Latin hypercube: one point per stratum on every axis.
    Lhs,
    /// Sobol low-discrepancy sequence (Joe–Kuo direction numbers), randomly shifted
    /// (Cranley–Patterson) so different seeds give different point sets.
    #[default]
    Sobol,
}

pub(crate) use kiln_core::numerics::standard_normal as normal;

/// The first `n` points of the Sobol sequence in `[0,1)^dim`, skipping the origin. The
/// direction numbers cover `dim <= 3` (kiln-pinn's problems have at most 3 input dimensions);
/// a larger `dim` is a [`KilnError::InvalidParameter`], not a panic.
pub fn sobol(n: usize, dim: usize) -> Result<Vec<f64>> {
    if dim > MAX_DIM {
        return Err(KilnError::invalid(
            "sobol dim",
            dim,
            format!("the built-in Sobol direction numbers cover dim <= {MAX_DIM}"),
        )
        .into());
    }
    let len = kiln_core::errors::checked_len(&[n, dim], "sobol points")?;
    const BITS: usize = 32;
    // Direction numbers: dim 0 is van der Corput; dims 1, 2 from Joe & Kuo (new-joe-kuo-6.21201):
    // d=2: s=1, a=0, m=[1]; d=3: s=2, a=1, m=[1, 3].
    let directions = |d: usize| -> [u32; BITS] {
        let mut v = [0u32; BITS];
        match d {
            0 => {
                for (k, vk) in v.iter_mut().enumerate() {
                    *vk = 1 << (31 - k);
                }
            }
            _ => {
                let (s, a, m): (usize, u32, &[u32]) = if d == 1 {
                    (1, 0, &[1])
                } else {
                    (2, 1, &[1, 3])
                };
                for k in 0..s {
                    v[k] = m[k] << (31 - k);
                }
                for k in s..BITS {
                    let mut x = v[k - s] ^ (v[k - s] >> s);
                    for j in 1..s {
                        if (a >> (s - 1 - j)) & 1 == 1 {
                            x ^= v[k - j];
                        }
                    }
                    v[k] = x;
                }
            }
        }
        v
    };
    let dirs: Vec<[u32; BITS]> = (0..dim).map(directions).collect();
    let mut state = vec![0u32; dim];
    if n >= 1 << BITS {
        return Err(KilnError::invalid("sobol n", n, "must be < 2^32").into());
    }
    let mut out = Vec::with_capacity(len);
    for i in 1..=n {
        // Gray-code update: flip the direction of the lowest zero bit of i - 1.
        let c = (i - 1).trailing_ones() as usize;
        for d in 0..dim {
            state[d] ^= dirs[d][c];
            out.push(state[d] as f64 / 4_294_967_296.0);
        }
    }
    Ok(out)
}

impl Sampler {
    /// Name used in parameters and on the command line.
    pub fn name(self) -> &'static str {
        match self {
            Sampler::Uniform => "uniform",
            Sampler::Lhs => "lhs",
            Sampler::Sobol => "sobol",
        }
    }

    /// `n` points in the box `[lo, hi]`, row-major `n x dim`; `lo` and `hi` must have the
    /// same length.
    pub fn sample(self, n: usize, lo: &[f64], hi: &[f64], rng: &mut impl Rng) -> Result<Vec<f64>> {
        let dim = lo.len();
        if hi.len() != dim {
            return Err(KilnError::shape("sampler box bounds", dim, hi.len()).into());
        }
        let total = kiln_core::errors::checked_len(&[n, dim], "sampler points")?;
        let unit: Vec<f64> = match self {
            Sampler::Uniform => (0..total).map(|_| rng.random::<f64>()).collect(),
            Sampler::Lhs => {
                let mut u = vec![0.0; total];
                for d in 0..dim {
                    let mut strata: Vec<usize> = (0..n).collect();
                    strata.shuffle(rng);
                    for (p, s) in strata.into_iter().enumerate() {
                        u[p * dim + d] = (s as f64 + rng.random::<f64>()) / n as f64;
                    }
                }
                u
            }
            Sampler::Sobol => {
                let shift: Vec<f64> = (0..dim).map(|_| rng.random::<f64>()).collect();
                let mut u = sobol(n, dim)?;
                for (k, v) in u.iter_mut().enumerate() {
                    *v = (*v + shift[k % dim]).fract();
                }
                u
            }
        };
        Ok(unit
            .iter()
            .enumerate()
            .map(|(k, u)| {
                let d = k % dim;
                lo[d] + u * (hi[d] - lo[d])
            })
            .collect())
    }
}

impl std::str::FromStr for Sampler {
    type Err = kiln_core::KilnError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "uniform" => Ok(Sampler::Uniform),
            "lhs" => Ok(Sampler::Lhs),
            "sobol" => Ok(Sampler::Sobol),
            _ => Err(kiln_core::KilnError::invalid(
                "sampler",
                s,
                "expected uniform, lhs or sobol",
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sobol_first_points_match_the_published_sequence() {
        // Joe–Kuo sequence (skipping 0): (0.5,0.5,0.5), (0.75,0.25,0.25), (0.25,0.75,0.75),
        // (0.375,0.375,0.625), (0.875,0.875,0.125).
        let s = sobol(5, 3).unwrap();
        let expect = [
            0.5, 0.5, 0.5, 0.75, 0.25, 0.25, 0.25, 0.75, 0.75, 0.375, 0.375, 0.625, 0.875, 0.875,
            0.125,
        ];
        assert_eq!(s, expect);
        assert!(matches!(
            sobol(5, 4),
            Err(crate::PinnError::Core(KilnError::InvalidParameter { .. }))
        ));
        let mut rng = kiln_core::seed::rng(1);
        assert!(
            Sampler::Sobol
                .sample(4, &[0.0; 4], &[1.0; 4], &mut rng)
                .is_err()
        );
        assert!(
            Sampler::Uniform
                .sample(4, &[0.0; 2], &[1.0], &mut rng)
                .is_err()
        );
    }

    #[test]
    fn lhs_has_one_point_per_stratum() {
        let mut rng = kiln_core::seed::rng(3);
        let n = 17;
        let p = Sampler::Lhs
            .sample(n, &[0.0, -1.0], &[1.0, 1.0], &mut rng)
            .unwrap();
        for d in 0..2 {
            let mut seen = vec![false; n];
            for k in 0..n {
                let u = if d == 0 {
                    p[k * 2]
                } else {
                    (p[k * 2 + 1] + 1.0) / 2.0
                };
                let s = (u * n as f64) as usize;
                assert!(!seen[s], "stratum {s} of axis {d} hit twice");
                seen[s] = true;
            }
        }
    }
}
