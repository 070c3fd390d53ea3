//! Detectors chosen by name at run time (the CLI's `--detector NAME --set key=value`).

use serde::{Deserialize, Serialize, de::DeserializeOwned};

use crate::errors::{DriftError, Result};
use crate::signal::{Detector, Signal};
use crate::*;

/// The detectors kiln-drift has, by CLI name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum DetectorKind {
    /// [`Adwin`]
    Adwin,
    /// [`PageHinkley`]
    PageHinkley,
    /// [`Ddm`]
    Ddm,
    /// [`Eddm`]
    Eddm,
    /// [`HddmA`]
    HddmA,
    /// [`HddmW`]
    HddmW,
    /// [`Kswin`]
    Kswin,
    /// [`Cusum`]
    Cusum,
    /// [`EwmaChart`]
    Ewma,
    /// [`LossMonitor`]
    LossMonitor,
}

impl DetectorKind {
    /// Every kind.
    pub const ALL: [DetectorKind; 10] = [
        DetectorKind::Adwin,
        DetectorKind::PageHinkley,
        DetectorKind::Ddm,
        DetectorKind::Eddm,
        DetectorKind::HddmA,
        DetectorKind::HddmW,
        DetectorKind::Kswin,
        DetectorKind::Cusum,
        DetectorKind::Ewma,
        DetectorKind::LossMonitor,
    ];
    /// The CLI name.
    pub fn name(self) -> &'static str {
        match self {
            DetectorKind::Adwin => "adwin",
            DetectorKind::PageHinkley => "page-hinkley",
            DetectorKind::Ddm => "ddm",
            DetectorKind::Eddm => "eddm",
            DetectorKind::HddmA => "hddm-a",
            DetectorKind::HddmW => "hddm-w",
            DetectorKind::Kswin => "kswin",
            DetectorKind::Cusum => "cusum",
            DetectorKind::Ewma => "ewma",
            DetectorKind::LossMonitor => "loss-monitor",
        }
    }
}

impl std::str::FromStr for DetectorKind {
    type Err = DriftError;
    fn from_str(s: &str) -> Result<Self> {
        let s = s.trim().to_ascii_lowercase().replace('_', "-");
        DetectorKind::ALL
            .into_iter()
            .find(|k| k.name() == s)
            .ok_or_else(|| DriftError::Unknown {
                what: "detector".into(),
                name: s,
                expected: DetectorKind::ALL.map(|k| k.name()).join(", "),
            })
    }
}

/// The signals of a stream with the estimated change point of each drift.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct StreamReport {
    /// Drift and warning indices.
    #[serde(flatten)]
    pub detections: crate::signal::Detections,
    /// For each drift, in order, the estimated change point (`None` where the detector gives
    /// none).
    pub change_points: Vec<Option<u64>>,
}

/// Any detector, for run-time choice and for checkpointing without knowing the type.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "detector", rename_all = "kebab-case")]
#[allow(missing_docs)]
pub enum AnyDetector {
    Adwin(Adwin),
    PageHinkley(PageHinkley),
    Ddm(Ddm),
    Eddm(Eddm),
    HddmA(HddmA),
    HddmW(HddmW),
    Kswin(Kswin),
    Cusum(Cusum),
    Ewma(EwmaChart),
    LossMonitor(LossMonitor),
}

/// Builds `P` from its defaults overridden by `key=value` settings (values parsed as JSON
/// where they parse — numbers, `true`, `null` — else taken as strings).
fn params_from<P: Serialize + DeserializeOwned + Default>(
    detector: &str,
    settings: &[(String, String)],
) -> Result<P> {
    let defaults = serde_json::to_value(P::default())
        .map_err(|e| DriftError::invalid(detector, "-", &e.to_string()))?;
    let known: Vec<String> = defaults
        .as_object()
        .map(|o| o.keys().cloned().collect())
        .unwrap_or_default();
    let mut obj = serde_json::Map::new();
    for (key, raw) in settings {
        let key = key.trim().replace('-', "_");
        if !known.contains(&key) {
            return Err(DriftError::Unknown {
                what: format!("parameter of {detector}"),
                name: key,
                expected: known.join(", "),
            });
        }
        let value = serde_json::from_str::<serde_json::Value>(raw.trim())
            .unwrap_or_else(|_| serde_json::Value::String(raw.trim().to_string()));
        // One key at a time, so a type error names its key.
        let one = serde_json::Value::Object([(key.clone(), value.clone())].into_iter().collect());
        serde_json::from_value::<P>(one)
            .map_err(|e| DriftError::invalid(&key, raw, &e.to_string()))?;
        obj.insert(key, value);
    }
    serde_json::from_value(serde_json::Value::Object(obj))
        .map_err(|e| DriftError::invalid(detector, "-", &e.to_string()))
}

impl AnyDetector {
    /// The detector `kind` with river's (or kiln's documented) defaults overridden by
    /// `settings` (`("delta", "0.01")`, ...), validated by the params' `check()`.
    pub fn build(kind: DetectorKind, settings: &[(String, String)]) -> Result<Self> {
        let n = kind.name();
        Ok(match kind {
            DetectorKind::Adwin => Self::Adwin(Adwin::new(
                params_from::<AdwinParams>(n, settings)?.check()?,
            )),
            DetectorKind::PageHinkley => Self::PageHinkley(PageHinkley::new(
                params_from::<PageHinkleyParams>(n, settings)?.check()?,
            )),
            DetectorKind::Ddm => {
                Self::Ddm(Ddm::new(params_from::<DdmParams>(n, settings)?.check()?))
            }
            DetectorKind::Eddm => {
                Self::Eddm(Eddm::new(params_from::<EddmParams>(n, settings)?.check()?))
            }
            DetectorKind::HddmA => Self::HddmA(HddmA::new(
                params_from::<HddmAParams>(n, settings)?.check()?,
            )),
            DetectorKind::HddmW => Self::HddmW(HddmW::new(
                params_from::<HddmWParams>(n, settings)?.check()?,
            )),
            DetectorKind::Kswin => Self::Kswin(Kswin::new(
                params_from::<KswinParams>(n, settings)?.check()?,
            )),
            DetectorKind::Cusum => Self::Cusum(Cusum::new(
                params_from::<CusumParams>(n, settings)?.check()?,
            )),
            DetectorKind::Ewma => Self::Ewma(EwmaChart::new(
                params_from::<EwmaChartParams>(n, settings)?.check()?,
            )),
            DetectorKind::LossMonitor => Self::LossMonitor(LossMonitor::new(
                params_from::<LossMonitorParams>(n, settings)?.check()?,
            )),
        })
    }

    /// The estimated change point (0-based index) of the last drift, for the detectors that
    /// estimate one ([`Cusum`], [`LossMonitor`]).
    pub fn change_point(&self) -> Option<u64> {
        match self {
            Self::Cusum(d) => d.change_point(),
            Self::LossMonitor(d) => d.last_alarm().map(|a| a.change_point),
            _ => None,
        }
    }

    /// Runs the stream like [`Detector::update_many`] and also collects, for each drift, the
    /// estimated change point (`None` for detectors without one).
    pub fn run_stream(&mut self, xs: &[f64]) -> Result<StreamReport> {
        if xs.is_empty() {
            return Err(kiln_core::KilnError::Empty("drift stream".into()).into());
        }
        let mut out = StreamReport::default();
        for (i, &x) in xs.iter().enumerate() {
            match self.update(x)? {
                Signal::Drift => {
                    out.detections.drifts.push(i);
                    out.change_points.push(self.change_point());
                }
                Signal::Warning => out.detections.warnings.push(i),
                Signal::None => {}
            }
        }
        Ok(out)
    }

    fn inner(&mut self) -> &mut dyn Detector {
        match self {
            Self::Adwin(d) => d,
            Self::PageHinkley(d) => d,
            Self::Ddm(d) => d,
            Self::Eddm(d) => d,
            Self::HddmA(d) => d,
            Self::HddmW(d) => d,
            Self::Kswin(d) => d,
            Self::Cusum(d) => d,
            Self::Ewma(d) => d,
            Self::LossMonitor(d) => d,
        }
    }
}

impl Detector for AnyDetector {
    #[inline]
    fn update(&mut self, x: f64) -> Result<Signal> {
        // A static match (not `inner()`'s dyn call) so each detector's update inlines.
        match self {
            Self::Adwin(d) => d.update(x),
            Self::PageHinkley(d) => d.update(x),
            Self::Ddm(d) => d.update(x),
            Self::Eddm(d) => d.update(x),
            Self::HddmA(d) => d.update(x),
            Self::HddmW(d) => d.update(x),
            Self::Kswin(d) => d.update(x),
            Self::Cusum(d) => d.update(x),
            Self::Ewma(d) => d.update(x),
            Self::LossMonitor(d) => d.update(x),
        }
    }
    fn reset(&mut self) {
        self.inner().reset()
    }
    fn name(&self) -> &'static str {
        match self {
            Self::Adwin(d) => d.name(),
            Self::PageHinkley(d) => d.name(),
            Self::Ddm(d) => d.name(),
            Self::Eddm(d) => d.name(),
            Self::HddmA(d) => d.name(),
            Self::HddmW(d) => d.name(),
            Self::Kswin(d) => d.name(),
            Self::Cusum(d) => d.name(),
            Self::Ewma(d) => d.name(),
            Self::LossMonitor(d) => d.name(),
        }
    }
}
