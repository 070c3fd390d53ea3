//! Privacy events and the ledger that records them.
//!
//! An event is one release of a mechanism (sensitivity 1). Poisson-subsampled events are
//! analysed under add/remove-one neighbours, fixed-size sampled ones under replace-one
//! neighbours (the dataset size is public), as dp_accounting does; a ledger may not mix the
//! two (see [`Neighbouring`]). The ledger is the ordered list of `(event, count)` a training run performed, possibly with
//! different sampling rates and noise in different phases. It serializes with serde so that a
//! run can save it and resume.

use std::path::Path;

use kiln_core::KilnError;
use serde::{Deserialize, Serialize};

use crate::errors::{PrivacyError, Result};

/// One mechanism release, sensitivity 1 under the event's [`Neighbouring`] relation.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum DpEvent {
    /// Gaussian noise of standard deviation `noise_multiplier` (no subsampling).
    Gaussian {
        /// Noise standard deviation over sensitivity.
        noise_multiplier: f64,
    },
    /// Laplace noise of scale `scale` (pure `1/scale`-DP).
    Laplace {
        /// Laplace scale over sensitivity.
        scale: f64,
    },
    /// The Gaussian mechanism on a Poisson sample: each record is included with probability
    /// `sampling_rate`, independently (the DP-SGD analysis of Abadi et al. 2016).
    PoissonGaussian {
        /// Inclusion probability q in (0, 1].
        sampling_rate: f64,
        /// Noise standard deviation over the clipping norm.
        noise_multiplier: f64,
    },
    /// The Gaussian mechanism on a batch of exactly `batch_size` distinct records drawn
    /// uniformly from `dataset_size` (sampling without replacement), replace-one neighbours
    /// (Wang, Balle, Kasiviswanathan 2019, as dp_accounting 0.6 accounts it).
    SampledWithoutReplacementGaussian {
        /// Dataset size n (public).
        dataset_size: u64,
        /// Batch size m in [1, n].
        batch_size: u64,
        /// Noise standard deviation over the replace-one sensitivity.
        noise_multiplier: f64,
    },
    /// The Gaussian mechanism on `batch_size` independent uniform draws from `dataset_size`
    /// records (sampling with replacement: a record may appear several times), replace-one
    /// neighbours. dp_accounting 0.6 accounts this event with no accountant; kiln's RDP bound
    /// for it is coarse (see [`crate::fixed_size`]).
    SampledWithReplacementGaussian {
        /// Dataset size n (public).
        dataset_size: u64,
        /// Number of draws m >= 1.
        batch_size: u64,
        /// Noise standard deviation over the replace-one sensitivity of one copy.
        noise_multiplier: f64,
    },
}

/// How every step of a training run draws its batch: builds the step's [`DpEvent`] for a
/// noise multiplier (calibration and the CLI vary sigma for a fixed sampling scheme).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(tag = "sampling", rename_all = "snake_case")]
pub enum BatchSampling {
    /// Each record independently with probability `sampling_rate`.
    Poisson {
        /// Inclusion probability q in (0, 1].
        sampling_rate: f64,
    },
    /// `batch_size` distinct records drawn uniformly from `dataset_size`.
    WithoutReplacement {
        /// Dataset size n.
        dataset_size: u64,
        /// Batch size m in [1, n].
        batch_size: u64,
    },
    /// `batch_size` independent uniform draws from `dataset_size` records.
    WithReplacement {
        /// Dataset size n.
        dataset_size: u64,
        /// Number of draws m.
        batch_size: u64,
    },
}

impl BatchSampling {
    /// Poisson sampling at rate `sampling_rate` (checked when the event is built).
    pub const fn poisson(sampling_rate: f64) -> Self {
        BatchSampling::Poisson { sampling_rate }
    }

    /// The checked step event at noise multiplier `sigma`.
    pub fn event(&self, sigma: f64) -> Result<DpEvent> {
        match *self {
            BatchSampling::Poisson { sampling_rate } => {
                check_q(sampling_rate)?;
                check_sigma(sigma)?;
                Ok(DpEvent::PoissonGaussian {
                    sampling_rate,
                    noise_multiplier: sigma,
                })
            }
            BatchSampling::WithoutReplacement {
                dataset_size,
                batch_size,
            } => DpEvent::sampled_without_replacement(dataset_size, batch_size, sigma),
            BatchSampling::WithReplacement {
                dataset_size,
                batch_size,
            } => DpEvent::sampled_with_replacement(dataset_size, batch_size, sigma),
        }
    }

    /// Checks the sampling parameters (independently of sigma).
    pub fn check(&self) -> Result<()> {
        self.event(1.0).map(drop)
    }

    /// The scheme's name on the command line.
    pub fn name(&self) -> &'static str {
        match self {
            BatchSampling::Poisson { .. } => "poisson",
            BatchSampling::WithoutReplacement { .. } => "without-replacement",
            BatchSampling::WithReplacement { .. } => "with-replacement",
        }
    }
}

/// The neighbouring relation an event's guarantee is stated under.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Neighbouring {
    /// Holds under either relation with the same sensitivity convention (no sampling).
    Either,
    /// Add or remove one record (Poisson sampling).
    AddRemove,
    /// Replace one record, dataset size public (fixed-size sampling).
    ReplaceOne,
}

impl DpEvent {
    /// The event's name as it appears in JSON (`type`) and in error messages.
    pub fn name(&self) -> &'static str {
        match self {
            DpEvent::Gaussian { .. } => "gaussian",
            DpEvent::Laplace { .. } => "laplace",
            DpEvent::PoissonGaussian { .. } => "poisson_gaussian",
            DpEvent::SampledWithoutReplacementGaussian { .. } => {
                "sampled_without_replacement_gaussian"
            }
            DpEvent::SampledWithReplacementGaussian { .. } => "sampled_with_replacement_gaussian",
        }
    }

    /// The neighbouring relation the event is analysed under.
    pub fn neighbouring(&self) -> Neighbouring {
        match self {
            DpEvent::Gaussian { .. } | DpEvent::Laplace { .. } => Neighbouring::Either,
            DpEvent::PoissonGaussian { .. } => Neighbouring::AddRemove,
            DpEvent::SampledWithoutReplacementGaussian { .. }
            | DpEvent::SampledWithReplacementGaussian { .. } => Neighbouring::ReplaceOne,
        }
    }

    /// A checked fixed-size, without-replacement sampled Gaussian event.
    pub fn sampled_without_replacement(
        dataset_size: u64,
        batch_size: u64,
        noise_multiplier: f64,
    ) -> Result<Self> {
        check_sizes(dataset_size, batch_size, false)?;
        check_sigma(noise_multiplier)?;
        Ok(DpEvent::SampledWithoutReplacementGaussian {
            dataset_size,
            batch_size,
            noise_multiplier,
        })
    }

    /// A checked fixed-size, with-replacement sampled Gaussian event.
    pub fn sampled_with_replacement(
        dataset_size: u64,
        batch_size: u64,
        noise_multiplier: f64,
    ) -> Result<Self> {
        check_sizes(dataset_size, batch_size, true)?;
        check_sigma(noise_multiplier)?;
        Ok(DpEvent::SampledWithReplacementGaussian {
            dataset_size,
            batch_size,
            noise_multiplier,
        })
    }

    /// A checked Gaussian event.
    pub fn gaussian(noise_multiplier: f64) -> Result<Self> {
        check_sigma(noise_multiplier)?;
        Ok(DpEvent::Gaussian { noise_multiplier })
    }

    /// A checked Laplace event.
    pub fn laplace(scale: f64) -> Result<Self> {
        if !(scale.is_finite() && scale > 0.0) {
            return Err(PrivacyError::invalid(
                "scale",
                scale,
                "must be finite and > 0",
            ));
        }
        Ok(DpEvent::Laplace { scale })
    }

    /// Re-checks an event that may come from deserialized input.
    pub fn validate(&self) -> Result<()> {
        match *self {
            DpEvent::Gaussian { noise_multiplier } => DpEvent::gaussian(noise_multiplier).map(drop),
            DpEvent::Laplace { scale } => DpEvent::laplace(scale).map(drop),
            DpEvent::PoissonGaussian {
                sampling_rate,
                noise_multiplier,
            } => BatchSampling::poisson(sampling_rate)
                .event(noise_multiplier)
                .map(drop),
            DpEvent::SampledWithoutReplacementGaussian {
                dataset_size,
                batch_size,
                noise_multiplier,
            } => DpEvent::sampled_without_replacement(dataset_size, batch_size, noise_multiplier)
                .map(drop),
            DpEvent::SampledWithReplacementGaussian {
                dataset_size,
                batch_size,
                noise_multiplier,
            } => DpEvent::sampled_with_replacement(dataset_size, batch_size, noise_multiplier)
                .map(drop),
        }
    }
}

/// Most draws a with-replacement event may have (its RDP bound is a sum over multiplicities).
pub const MAX_DRAWS: u64 = 10_000_000;

/// Fails unless `1 <= batch_size` and `1 <= dataset_size`, and (without replacement)
/// `batch_size <= dataset_size`.
pub fn check_sizes(dataset_size: u64, batch_size: u64, with_replacement: bool) -> Result<()> {
    if dataset_size == 0 {
        return Err(PrivacyError::invalid("dataset_size", 0, "must be >= 1"));
    }
    if batch_size == 0 {
        return Err(PrivacyError::invalid("batch_size", 0, "must be >= 1"));
    }
    if with_replacement && batch_size > MAX_DRAWS {
        return Err(PrivacyError::invalid(
            "batch_size",
            batch_size,
            "with-replacement accounting sums over every multiplicity; at most 10^7 draws",
        ));
    }
    if !with_replacement && batch_size > dataset_size {
        return Err(PrivacyError::invalid(
            "batch_size",
            batch_size,
            "must be <= dataset_size when sampling without replacement",
        ));
    }
    Ok(())
}

/// Fails unless `sigma` is finite and positive.
pub fn check_sigma(sigma: f64) -> Result<()> {
    if sigma.is_finite() && sigma > 0.0 {
        Ok(())
    } else {
        Err(PrivacyError::invalid(
            "noise_multiplier",
            sigma,
            "must be finite and > 0",
        ))
    }
}

/// Fails unless `q` is in (0, 1].
pub fn check_q(q: f64) -> Result<()> {
    if q > 0.0 && q <= 1.0 {
        Ok(())
    } else {
        Err(PrivacyError::invalid(
            "sampling_rate",
            q,
            "must be in (0, 1]",
        ))
    }
}

/// Fails unless `delta` is in (0, 1).
pub fn check_delta(delta: f64) -> Result<()> {
    if delta > 0.0 && delta < 1.0 {
        Ok(())
    } else {
        Err(PrivacyError::invalid("delta", delta, "must be in (0, 1)"))
    }
}

/// Fails unless `epsilon` is finite and >= 0.
pub fn check_epsilon(epsilon: f64) -> Result<()> {
    if epsilon.is_finite() && epsilon >= 0.0 {
        Ok(())
    } else {
        Err(PrivacyError::invalid(
            "epsilon",
            epsilon,
            "must be finite and >= 0",
        ))
    }
}

/// An event repeated `count` times in a row.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct LedgerEntry {
    /// The event.
    pub event: DpEvent,
    /// How many times it happened.
    pub count: u64,
}

/// Every release a training run made, in order. Accountants read it; DP-SGD writes it.
///
/// `private` is false (with the reason) when the run's noise or batches came from a seed
/// someone can know (`insecure_seed`): the accounting then describes a mechanism whose noise
/// can be subtracted, and reports must say so.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Ledger {
    entries: Vec<LedgerEntry>,
    #[serde(default = "yes")]
    private: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    not_private_reason: Option<String>,
}

fn yes() -> bool {
    true
}

impl Default for Ledger {
    fn default() -> Self {
        Self {
            entries: Vec::new(),
            private: true,
            not_private_reason: None,
        }
    }
}

impl Ledger {
    /// An empty ledger.
    pub fn new() -> Self {
        Self::default()
    }

    /// Whether the releases it records are private (no insecure seed was used).
    pub fn is_private(&self) -> bool {
        self.private
    }

    /// Why the run is not private, when it is not.
    pub fn not_private_reason(&self) -> Option<&str> {
        self.not_private_reason.as_deref()
    }

    /// Marks the run as not private, keeping the first reason given.
    pub fn mark_not_private(&mut self, reason: impl Into<String>) {
        self.private = false;
        if self.not_private_reason.is_none() {
            self.not_private_reason = Some(reason.into());
        }
    }

    /// A ledger holding one event `count` times.
    pub fn single(event: DpEvent, count: u64) -> Result<Self> {
        let mut l = Self::new();
        l.record(event, count)?;
        Ok(l)
    }

    /// `steps` DP-SGD steps at noise `noise_multiplier` under any batch sampling scheme (the
    /// Poisson DP-SGD ledger of Abadi et al.: `Ledger::steps(&BatchSampling::poisson(q),
    /// sigma, steps)`).
    pub fn steps(sampling: &BatchSampling, noise_multiplier: f64, steps: u64) -> Result<Self> {
        Self::single(sampling.event(noise_multiplier)?, steps)
    }

    /// Records `count` more occurrences of `event` (merged with the last entry when equal).
    pub fn record(&mut self, event: DpEvent, count: u64) -> Result<()> {
        event.validate()?;
        if count == 0 {
            return Ok(());
        }
        match self.entries.last_mut() {
            Some(last) if last.event == event => {
                last.count = last.count.checked_add(count).ok_or_else(|| {
                    PrivacyError::invalid("count", count, "ledger count overflows u64")
                })?
            }
            _ => self.entries.push(LedgerEntry { event, count }),
        }
        Ok(())
    }

    /// The entries, in order.
    pub fn entries(&self) -> &[LedgerEntry] {
        &self.entries
    }

    /// Whether nothing was recorded.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Total number of releases.
    pub fn total_count(&self) -> u64 {
        self.entries.iter().map(|e| e.count).sum()
    }

    /// Re-validates every entry (after deserializing untrusted input).
    pub fn validate(&self) -> Result<()> {
        self.entries.iter().try_for_each(|e| e.event.validate())
    }

    /// The one neighbouring relation all entries hold under; an error naming two entries
    /// when the ledger mixes add/remove (Poisson) and replace-one (fixed-size) events, whose
    /// guarantees do not compose into either relation.
    pub fn neighbouring(&self) -> Result<Neighbouring> {
        let mut rel = Neighbouring::Either;
        let mut first: Option<&DpEvent> = None;
        for e in &self.entries {
            match (rel, e.event.neighbouring()) {
                (_, Neighbouring::Either) => {}
                (Neighbouring::Either, r) => {
                    rel = r;
                    first = Some(&e.event);
                }
                (a, b) if a == b => {}
                _ => {
                    return Err(PrivacyError::MixedNeighbouring {
                        first: first.map_or("?", |f| f.name()).to_string(),
                        second: e.event.name().to_string(),
                    });
                }
            }
        }
        Ok(rel)
    }

    /// Serializes to pretty JSON.
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).expect("a ledger always serializes")
    }

    /// Parses and validates a ledger from JSON.
    pub fn from_json(text: &str) -> Result<Self> {
        let l: Ledger = kiln_core::io::parse_json(text, Path::new("<ledger>"))?;
        l.validate()?;
        Ok(l)
    }

    /// Writes the ledger to `path` as JSON.
    pub fn save(&self, path: &Path) -> Result<()> {
        std::fs::write(path, self.to_json()).map_err(|source| {
            PrivacyError::Core(KilnError::Io {
                path: path.to_path_buf(),
                source,
            })
        })
    }

    /// Reads a ledger saved by [`Ledger::save`].
    pub fn load(path: &Path) -> Result<Self> {
        let l: Ledger = kiln_core::io::read_json(path)?;
        l.validate()?;
        Ok(l)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ledger_merges_and_round_trips() {
        let mut l = Ledger::new();
        let e = BatchSampling::poisson(0.01).event(1.1).unwrap();
        l.record(e, 10).unwrap();
        l.record(e, 5).unwrap();
        l.record(DpEvent::gaussian(2.0).unwrap(), 1).unwrap();
        assert_eq!(l.entries().len(), 2);
        assert_eq!(l.entries()[0].count, 15);
        let back = Ledger::from_json(&l.to_json()).unwrap();
        assert_eq!(back, l);
    }

    #[test]
    fn bad_events_are_typed_errors() {
        assert!(BatchSampling::poisson(0.0).event(1.0).is_err());
        assert!(BatchSampling::poisson(1.5).event(1.0).is_err());
        assert!(BatchSampling::poisson(0.5).event(0.0).is_err());
        assert!(BatchSampling::poisson(0.5).event(f64::NAN).is_err());
        assert!(DpEvent::laplace(-1.0).is_err());
        let bad =
            r#"{"entries":[{"event":{"type":"gaussian","noise_multiplier":-1.0},"count":3}]}"#;
        assert!(Ledger::from_json(bad).is_err());
        assert!(Ledger::from_json("{not json").is_err());
        assert!(DpEvent::sampled_without_replacement(10, 11, 1.0).is_err());
        assert!(DpEvent::sampled_without_replacement(0, 0, 1.0).is_err());
        assert!(DpEvent::sampled_with_replacement(10, 0, 1.0).is_err());
        assert!(DpEvent::sampled_with_replacement(10, 11, 1.0).is_ok());
        let bad = r#"{"entries":[{"event":{"type":"sampled_without_replacement_gaussian",
            "dataset_size":5,"batch_size":6,"noise_multiplier":1.0},"count":3}]}"#;
        assert!(Ledger::from_json(bad).is_err());
    }

    #[test]
    fn fixed_size_events_round_trip_and_do_not_mix_with_poisson() {
        let mut l = Ledger::new();
        l.record(DpEvent::gaussian(3.0).unwrap(), 1).unwrap();
        l.record(
            DpEvent::sampled_without_replacement(1000, 10, 1.1).unwrap(),
            50,
        )
        .unwrap();
        l.record(DpEvent::sampled_with_replacement(1000, 10, 1.1).unwrap(), 5)
            .unwrap();
        let text = l.to_json();
        assert!(text.contains("\"type\": \"sampled_without_replacement_gaussian\""));
        assert!(text.contains("\"dataset_size\": 1000"));
        let back = Ledger::from_json(&text).unwrap();
        assert_eq!(back, l);
        assert_eq!(back.neighbouring().unwrap(), Neighbouring::ReplaceOne);
        l.record(BatchSampling::poisson(0.01).event(1.1).unwrap(), 1)
            .unwrap();
        let e = l.neighbouring().unwrap_err().to_string();
        assert!(
            e.contains("sampled_without_replacement_gaussian") && e.contains("poisson"),
            "{e}"
        );
    }
}
