//! Privacy events and the ledger that records them.
//!
//! An event is one release of a mechanism (sensitivity 1, add/remove-one neighbours); the
//! ledger is the ordered list of `(event, count)` a training run performed, possibly with
//! different sampling rates and noise in different phases. It serializes with serde so that a
//! run can save it and resume.

use std::path::Path;

use kiln_core::KilnError;
use serde::{Deserialize, Serialize};

use crate::errors::{PrivacyError, Result};

/// One mechanism release, sensitivity 1, add/remove-one neighbouring datasets.
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
}

impl DpEvent {
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

    /// A checked Poisson-subsampled Gaussian event.
    pub fn poisson_gaussian(sampling_rate: f64, noise_multiplier: f64) -> Result<Self> {
        check_q(sampling_rate)?;
        check_sigma(noise_multiplier)?;
        Ok(DpEvent::PoissonGaussian {
            sampling_rate,
            noise_multiplier,
        })
    }

    /// Re-checks an event that may come from deserialized input.
    pub fn validate(&self) -> Result<()> {
        match *self {
            DpEvent::Gaussian { noise_multiplier } => DpEvent::gaussian(noise_multiplier).map(drop),
            DpEvent::Laplace { scale } => DpEvent::laplace(scale).map(drop),
            DpEvent::PoissonGaussian {
                sampling_rate,
                noise_multiplier,
            } => DpEvent::poisson_gaussian(sampling_rate, noise_multiplier).map(drop),
        }
    }
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
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Ledger {
    entries: Vec<LedgerEntry>,
}

impl Ledger {
    /// An empty ledger.
    pub fn new() -> Self {
        Self::default()
    }

    /// A ledger holding one event `count` times.
    pub fn single(event: DpEvent, count: u64) -> Result<Self> {
        let mut l = Self::new();
        l.record(event, count)?;
        Ok(l)
    }

    /// The DP-SGD ledger: `steps` Poisson-subsampled Gaussian steps.
    pub fn dp_sgd(sampling_rate: f64, noise_multiplier: f64, steps: u64) -> Result<Self> {
        Self::single(
            DpEvent::poisson_gaussian(sampling_rate, noise_multiplier)?,
            steps,
        )
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
        let e = DpEvent::poisson_gaussian(0.01, 1.1).unwrap();
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
        assert!(DpEvent::poisson_gaussian(0.0, 1.0).is_err());
        assert!(DpEvent::poisson_gaussian(1.5, 1.0).is_err());
        assert!(DpEvent::poisson_gaussian(0.5, 0.0).is_err());
        assert!(DpEvent::poisson_gaussian(0.5, f64::NAN).is_err());
        assert!(DpEvent::laplace(-1.0).is_err());
        let bad =
            r#"{"entries":[{"event":{"type":"gaussian","noise_multiplier":-1.0},"count":3}]}"#;
        assert!(Ledger::from_json(bad).is_err());
        assert!(Ledger::from_json("{not json").is_err());
    }
}
