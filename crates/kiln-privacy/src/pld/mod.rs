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
//!
//! Split in three: `discretise` (one mechanism onto the grid), `pmf` (the discrete
//! distribution, its queries and FFT composition) and this module (the accountant).

mod discretise;
pub(crate) mod pmf;

use crate::errors::{PrivacyError, Result};
use crate::event::{DpEvent, Ledger, check_delta, check_epsilon};
use crate::hyperparams::{Estimate, PldValidParams};

pub use discretise::Adjacency;
use discretise::*;
pub use pmf::Pmf;
#[cfg(test)]
use pmf::*;

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
    ///
    /// An empty ledger (no release) has epsilon exactly 0. A `delta` below the mass the
    /// discretisation puts at infinite loss has no finite answer: a typed
    /// [`PrivacyError::NoFiniteEpsilon`] naming that floor (use RDP there).
    pub fn epsilon(&self, ledger: &Ledger, delta: f64) -> Result<f64> {
        check_delta(delta)?;
        if ledger.total_count() == 0 {
            return Ok(0.0);
        }
        let pld = self.compose_ledger(ledger)?;
        let e = pld.epsilon_for_delta(delta);
        if e.is_infinite() {
            return Err(PrivacyError::NoFiniteEpsilon {
                accountant: "pld".into(),
                reason: format!(
                    "delta {delta:e} is below the {:e} of mass the pessimistic discretization \
                     places at infinite loss; use the rdp accountant or a larger delta",
                    pld.infinity_mass()
                ),
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
    use crate::special::norm_cdf;

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
