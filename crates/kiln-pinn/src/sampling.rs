//! Collocation point samplers: uniform random, Latin hypercube and Sobol.

use rand::seq::SliceRandom;
use rand::{Rng, RngExt};
use serde::{Deserialize, Serialize};

use kiln_core::KilnError;

use crate::errors::Result;
use sobol::Sobol;
use sobol::params::JoeKuoD6;

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

/// The first `n` points of the Sobol sequence in `[0,1)^dim` (Joe–Kuo `new-joe-kuo-6`
/// direction numbers, from the `sobol` crate), skipping the origin, row-major `n x dim`.
/// `dim` must be in `1..=`[`SOBOL_MAX_DIM`] and `n < 2^32`; anything else is a
/// [`KilnError::InvalidParameter`], not a panic.
pub fn sobol(n: usize, dim: usize) -> Result<Vec<f64>> {
    if dim == 0 || dim > SOBOL_MAX_DIM {
        return Err(KilnError::invalid(
            "sobol dim",
            dim,
            format!("must be in 1..={SOBOL_MAX_DIM} (Joe–Kuo direction numbers shipped)"),
        )
        .into());
    }
    if n >= 1 << 32 {
        return Err(KilnError::invalid("sobol n", n, "must be < 2^32").into());
    }
    let len = kiln_core::errors::checked_len(&[n, dim], "sobol points")?;
    let params = JoeKuoD6::minimal();
    let mut out = Vec::with_capacity(len);
    for point in Sobol::<f64>::new(dim, &params).skip(1).take(n) {
        out.extend(point);
    }
    Ok(out)
}

/// Dimensions [`sobol()`] covers: those of the `sobol` crate's minimal Joe–Kuo table.
pub const SOBOL_MAX_DIM: usize = 100;

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
        // Beyond the first three dimensions too (Joe–Kuo d = 4: s = 3, a = 1, m = [1, 3, 1]).
        let s4 = sobol(3, 4).unwrap();
        assert_eq!(
            s4,
            [
                0.5, 0.5, 0.5, 0.5, 0.75, 0.25, 0.25, 0.25, 0.25, 0.75, 0.75, 0.75
            ]
        );
        for bad in [0, SOBOL_MAX_DIM + 1] {
            assert!(matches!(
                sobol(5, bad),
                Err(crate::PinnError::Core(KilnError::InvalidParameter { .. }))
            ));
        }
        let mut rng = kiln_core::seed::rng(1);
        assert!(
            Sampler::Sobol
                .sample(4, &[0.0; 101], &[1.0; 101], &mut rng)
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
