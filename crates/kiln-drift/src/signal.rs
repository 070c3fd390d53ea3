//! The [`Detector`] trait every detector implements, its [`Signal`] and the [`Detections`] of a
//! whole stream.

use serde::{Deserialize, Serialize};

use crate::errors::{DriftError, Result};

/// What a detector concludes after one sample.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Signal {
    /// In control.
    #[default]
    None,
    /// The statistic is approaching the drift threshold (detectors that have a warning zone).
    Warning,
    /// Drift detected at this sample. Like river, the detector restarts itself on the next
    /// update.
    Drift,
}

/// The signals of a whole stream, as 0-based sample indices.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Detections {
    /// Indices where [`Signal::Drift`] was returned.
    pub drifts: Vec<usize>,
    /// Indices where [`Signal::Warning`] was returned.
    pub warnings: Vec<usize>,
}

/// A streaming drift detector.
///
/// Every detector checks each sample before touching its state: a bad sample is a typed error
/// and the state stays as it was. The state (parameters included) is `serde`-serializable, so a
/// detector can be checkpointed with the model it watches.
pub trait Detector {
    /// Feeds one sample.
    fn update(&mut self, x: f64) -> Result<Signal>;

    /// Feeds a stream; indices in the result are positions in `xs`.
    ///
    /// Fails on an empty stream, or at the first bad sample (the samples before it have been
    /// consumed).
    fn update_many(&mut self, xs: &[f64]) -> Result<Detections> {
        if xs.is_empty() {
            return Err(kiln_core::KilnError::Empty("drift stream".into()).into());
        }
        let mut out = Detections::default();
        for (i, &x) in xs.iter().enumerate() {
            match self.update(x)? {
                Signal::Drift => out.drifts.push(i),
                Signal::Warning => out.warnings.push(i),
                Signal::None => {}
            }
        }
        Ok(out)
    }

    /// Returns the detector to its freshly built state (same parameters).
    fn reset(&mut self);

    /// The detector's name, as the CLI spells it (`adwin`, `page-hinkley`, ...).
    fn name(&self) -> &'static str;
}

/// Rejects NaN and infinities.
pub(crate) fn check_finite(detector: &'static str, index: u64, x: f64) -> Result<()> {
    if x.is_finite() {
        Ok(())
    } else {
        Err(DriftError::NonFinite {
            detector,
            index,
            value: x,
        })
    }
}

/// Rejects values outside `[0, 1]` (and non-finite ones).
pub(crate) fn check_unit(detector: &'static str, index: u64, x: f64) -> Result<()> {
    check_finite(detector, index, x)?;
    if (0.0..=1.0).contains(&x) {
        Ok(())
    } else {
        Err(DriftError::NotBinary {
            detector,
            index,
            value: x,
            accepted: "in [0, 1]",
        })
    }
}
