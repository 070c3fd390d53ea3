//! Detector settings, linfa style: an unchecked `XxxParams` with builder setters (every default
//! is river 0.26.1's, or stated where river has no such detector), `check()` into
//! `XxxValidParams`, which only `check()` makes. Valid params deserialize through `check()`
//! (`serde(try_from)`), so a checkpointed detector cannot smuggle in an invalid setting.

use serde::{Deserialize, Serialize};

use crate::errors::{DriftError, Result};

/// Defines an unchecked params struct (serde-default, unknown keys rejected), its setters, and
/// the valid-params newtype with one getter per field.
macro_rules! params {
    (
        $(#[$m:meta])* $name:ident => $(#[$vm:meta])* $valid:ident ($name_str:literal) {
            $( $(#[$fm:meta])* $field:ident : $ty:ty = $default:expr ),* $(,)?
        }
    ) => {
        $(#[$m])*
        #[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
        #[serde(default, deny_unknown_fields)]
        pub struct $name { $( $field: $ty, )* }

        impl Default for $name {
            fn default() -> Self {
                Self { $( $field: $default, )* }
            }
        }

        impl $name {
            /// The defaults (each field's documentation states its own).
            pub fn new() -> Self {
                Self::default()
            }
            $( $(#[$fm])* pub fn $field(mut self, value: $ty) -> Self {
                self.$field = value;
                self
            } )*
        }

        $(#[$vm])*
        #[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
        #[serde(try_from = $name_str)]
        pub struct $valid($name);

        impl $valid {
            $( $(#[$fm])* pub fn $field(&self) -> $ty { self.0.$field.clone() } )*
            /// The unchecked params these came from.
            pub fn params(&self) -> &$name {
                &self.0
            }
        }

        impl TryFrom<$name> for $valid {
            type Error = DriftError;
            fn try_from(p: $name) -> Result<Self> {
                p.check()
            }
        }
    };
}

fn finite(name: &str, v: f64) -> Result<f64> {
    if v.is_finite() {
        Ok(v)
    } else {
        Err(DriftError::invalid(name, v, "must be finite"))
    }
}

fn open01(name: &str, v: f64) -> Result<()> {
    if v > 0.0 && v < 1.0 {
        Ok(())
    } else {
        Err(DriftError::invalid(name, v, "must be in (0, 1)"))
    }
}

fn positive(name: &str, v: f64) -> Result<()> {
    if finite(name, v)? > 0.0 {
        Ok(())
    } else {
        Err(DriftError::invalid(name, v, "must be > 0"))
    }
}

fn nonnegative(name: &str, v: f64) -> Result<()> {
    if finite(name, v)? >= 0.0 {
        Ok(())
    } else {
        Err(DriftError::invalid(name, v, "must be >= 0"))
    }
}

fn at_least(name: &str, v: u64, min: u64) -> Result<()> {
    if v >= min {
        Ok(())
    } else {
        Err(DriftError::invalid(name, v, &format!("must be >= {min}")))
    }
}

/// Which direction of change a one-sided/two-sided test watches.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    /// Increases of the mean only.
    Up,
    /// Decreases of the mean only.
    Down,
    /// Both directions.
    #[default]
    Both,
}

impl std::str::FromStr for Mode {
    type Err = DriftError;
    fn from_str(s: &str) -> Result<Self> {
        match s.trim().to_ascii_lowercase().as_str() {
            "up" => Ok(Mode::Up),
            "down" => Ok(Mode::Down),
            "both" => Ok(Mode::Both),
            _ => Err(DriftError::invalid("mode", s, "expected up, down or both")),
        }
    }
}

impl Mode {
    pub(crate) fn up(self) -> bool {
        matches!(self, Mode::Up | Mode::Both)
    }
    pub(crate) fn down(self) -> bool {
        matches!(self, Mode::Down | Mode::Both)
    }
}

params! {
    /// Unchecked settings of [`crate::Adwin`] (Bifet & Gavaldà 2007, ADWIN2 with exponential
    /// histograms; river's `drift.ADWIN` defaults).
    AdwinParams => /// Checked settings of [`crate::Adwin`].
    AdwinValidParams("AdwinParams") {
        /// Confidence `delta` of the cut test `|mu0 - mu1| > sqrt(2 m var ln(2 ln(n)/delta)) +
        /// 2/3 m ln(2 ln(n)/delta)`, `m = 1/(n0-M+1) + 1/(n1-M+1)`. Default 0.002; in (0, 1).
        delta: f64 = 0.002,
        /// Cut points are checked every `clock` samples. Default 32; >= 1.
        clock: u32 = 32,
        /// Buckets of each size kept before two are merged. Default 5; >= 2: with 1, a merge
        /// empties a row, and dropping the oldest summary later reads an empty row (river
        /// reads a stale slot there; kiln refuses the setting).
        max_buckets: u32 = 5,
        /// Smallest sub-window `M` a cut may leave on either side. Default 5; >= 1.
        min_window_length: u32 = 5,
        /// No cut is checked before the window holds more than this. Default 10.
        grace_period: u32 = 10,
    }
}

impl AdwinParams {
    /// Validates the settings.
    pub fn check(self) -> Result<AdwinValidParams> {
        open01("delta", self.delta)?;
        at_least("clock", self.clock.into(), 1)?;
        at_least("max_buckets", self.max_buckets.into(), 2)?;
        at_least("min_window_length", self.min_window_length.into(), 1)?;
        Ok(AdwinValidParams(self))
    }
}

params! {
    /// Unchecked settings of [`crate::PageHinkley`] (Page 1954; river's `drift.PageHinkley`
    /// defaults and its fading cumulative sums).
    PageHinkleyParams => /// Checked settings of [`crate::PageHinkley`].
    PageHinkleyValidParams("PageHinkleyParams") {
        /// No decision before this many samples. Default 30.
        min_instances: u64 = 30,
        /// Tolerated deviation `delta` subtracted (up) / added (down) per sample:
        /// `S = alpha S + (x - mean) -/+ delta`. Default 0.005; >= 0.
        delta: f64 = 0.005,
        /// Drift when `S - min S` (up) or `max S - S` (down) exceeds this (`lambda`). Default 50; > 0.
        threshold: f64 = 50.0,
        /// Forgetting factor of the cumulative sums. Default 1 - 1e-4; in (0, 1].
        alpha: f64 = 1.0 - 0.0001,
        /// Directions watched. Default both.
        mode: Mode = Mode::Both,
    }
}

impl PageHinkleyParams {
    /// Validates the settings.
    pub fn check(self) -> Result<PageHinkleyValidParams> {
        nonnegative("delta", self.delta)?;
        positive("threshold", self.threshold)?;
        if !(self.alpha > 0.0 && self.alpha <= 1.0) {
            return Err(DriftError::invalid(
                "alpha",
                self.alpha,
                "must be in (0, 1]",
            ));
        }
        Ok(PageHinkleyValidParams(self))
    }
}

params! {
    /// Unchecked settings of [`crate::Ddm`] (Gama et al. 2004; river's `drift.binary.DDM`).
    DdmParams => /// Checked settings of [`crate::Ddm`].
    DdmValidParams("DdmParams") {
        /// No decision until more than this many samples. Default 30.
        warm_start: u64 = 30,
        /// Warning when `p + s > p_min + w s_min`. Default 2; > 0.
        warning_threshold: f64 = 2.0,
        /// Drift when `p + s > p_min + d s_min`. Default 3; >= the warning threshold.
        drift_threshold: f64 = 3.0,
    }
}

impl DdmParams {
    /// Validates the settings.
    pub fn check(self) -> Result<DdmValidParams> {
        positive("warning_threshold", self.warning_threshold)?;
        positive("drift_threshold", self.drift_threshold)?;
        if self.drift_threshold < self.warning_threshold {
            return Err(DriftError::invalid(
                "drift_threshold",
                self.drift_threshold,
                "must be >= warning_threshold",
            ));
        }
        Ok(DdmValidParams(self))
    }
}

params! {
    /// Unchecked settings of [`crate::Eddm`] (Baena-García et al. 2006; river's
    /// `drift.binary.EDDM`).
    EddmParams => /// Checked settings of [`crate::Eddm`].
    EddmValidParams("EddmParams") {
        /// No decision until more than this many samples and errors. Default 30.
        warm_start: u64 = 30,
        /// Warning when `(p' + 2 s') / max(p' + 2 s') < alpha`. Default 0.95; in (0, 1], >= beta.
        alpha: f64 = 0.95,
        /// Drift when the same ratio is below `beta`. Default 0.9; in (0, alpha].
        beta: f64 = 0.9,
    }
}

impl EddmParams {
    /// Validates the settings.
    pub fn check(self) -> Result<EddmValidParams> {
        if !(self.alpha > 0.0 && self.alpha <= 1.0) {
            return Err(DriftError::invalid(
                "alpha",
                self.alpha,
                "must be in (0, 1]",
            ));
        }
        if !(self.beta > 0.0 && self.beta <= self.alpha) {
            return Err(DriftError::invalid(
                "beta",
                self.beta,
                "must be in (0, alpha]",
            ));
        }
        Ok(EddmValidParams(self))
    }
}

fn confidences(drift: f64, warning: f64) -> Result<()> {
    open01("drift_confidence", drift)?;
    open01("warning_confidence", warning)?;
    if drift > warning {
        return Err(DriftError::invalid(
            "drift_confidence",
            drift,
            "must be <= warning_confidence",
        ));
    }
    Ok(())
}

params! {
    /// Unchecked settings of [`crate::HddmA`] (Frías-Blanco et al. 2014, Hoeffding bound on
    /// averages; river's `drift.binary.HDDM_A`).
    HddmAParams => /// Checked settings of [`crate::HddmA`].
    HddmAValidParams("HddmAParams") {
        /// Significance of the drift test. Default 0.001; in (0, 1).
        drift_confidence: f64 = 0.001,
        /// Significance of the warning test. Default 0.005; in (0, 1), >= drift_confidence.
        warning_confidence: f64 = 0.005,
        /// Also test for decreases of the mean. Default false.
        two_sided_test: bool = false,
    }
}

impl HddmAParams {
    /// Validates the settings.
    pub fn check(self) -> Result<HddmAValidParams> {
        confidences(self.drift_confidence, self.warning_confidence)?;
        Ok(HddmAValidParams(self))
    }
}

params! {
    /// Unchecked settings of [`crate::HddmW`] (Frías-Blanco et al. 2014, McDiarmid bound on
    /// EWMA; river's `drift.binary.HDDM_W`).
    HddmWParams => /// Checked settings of [`crate::HddmW`].
    HddmWValidParams("HddmWParams") {
        /// Significance of the drift test. Default 0.001; in (0, 1).
        drift_confidence: f64 = 0.001,
        /// Significance of the warning test. Default 0.005; in (0, 1), >= drift_confidence.
        warning_confidence: f64 = 0.005,
        /// EWMA weight of the newest sample. Default 0.05; in (0, 1].
        lambda: f64 = 0.05,
        /// Also test for decreases of the mean. Default false.
        two_sided_test: bool = false,
    }
}

impl HddmWParams {
    /// Validates the settings.
    pub fn check(self) -> Result<HddmWValidParams> {
        confidences(self.drift_confidence, self.warning_confidence)?;
        if !(self.lambda > 0.0 && self.lambda <= 1.0) {
            return Err(DriftError::invalid(
                "lambda",
                self.lambda,
                "must be in (0, 1]",
            ));
        }
        Ok(HddmWValidParams(self))
    }
}

params! {
    /// Unchecked settings of [`crate::Kswin`] (Raab et al. 2020; river's `drift.KSWIN`
    /// defaults, with kiln's own seeded RNG: see the type's documentation).
    KswinParams => /// Checked settings of [`crate::Kswin`].
    KswinValidParams("KswinParams") {
        /// Drift when the two-sample KS p-value is `<= alpha` (and the statistic > 0.1).
        /// Default 0.005; in (0, 1).
        alpha: f64 = 0.005,
        /// Sliding window length. Default 100; >= 2 stat_size.
        window_size: u64 = 100,
        /// Size of the recent sample and of the random sample drawn from the older part.
        /// Default 30; >= 1.
        stat_size: u64 = 30,
        /// Seed of the sampling RNG (ChaCha8 via `kiln_core::seed::rng`). Default 42.
        seed: u64 = 42,
    }
}

impl KswinParams {
    /// Validates the settings.
    pub fn check(self) -> Result<KswinValidParams> {
        open01("alpha", self.alpha)?;
        at_least("stat_size", self.stat_size, 1)?;
        let min = self.stat_size.saturating_mul(2);
        at_least("window_size", self.window_size, min)?;
        if self.window_size > 1 << 24 {
            return Err(DriftError::invalid(
                "window_size",
                self.window_size,
                "must be <= 2^24",
            ));
        }
        Ok(KswinValidParams(self))
    }
}

params! {
    /// Unchecked settings of [`crate::Cusum`] (Page 1954 tabular CUSUM on standardized
    /// samples; no river counterpart). Unless given, the in-control mean and standard
    /// deviation are estimated by a running mean/variance since the last reset.
    CusumParams => /// Checked settings of [`crate::Cusum`].
    CusumValidParams("CusumParams") {
        /// Reference value `k` in standard deviations (half the shift to detect):
        /// `S+ = max(0, S+ + z - k)`. Default 0.5 (tuned to a 1-sigma shift); >= 0.
        k: f64 = 0.5,
        /// Target in-control average run length (samples between false alarms of the whole
        /// chart); the decision interval `h` is solved from Siegmund's approximation
        /// `ARL = (exp(2 k b) - 2 k b - 1) / (2 k^2)`, `b = h + 1.166` (halved per side when
        /// two-sided). Default 1e8 (h = 17.25 two-sided): with estimated parameters and skewed
        /// (0/1) data the real ARL is much shorter (the harness measured 2 pre-change alarms in
        /// 1000 error-rate streams, none on 2e6 Gaussian samples); > 1.
        arl0: f64 = 1e8,
        /// Decision interval `h` in standard deviations; overrides `arl0` when set.
        threshold: Option<f64> = None,
        /// Samples after start/reset used only to estimate the mean and deviation (no alarm).
        /// Default 200; >= 2 unless both `mean` and `std` are given.
        warmup: u64 = 200,
        /// Known in-control mean (else estimated).
        mean: Option<f64> = None,
        /// Known in-control standard deviation (else estimated).
        std: Option<f64> = None,
        /// Directions watched. Default both.
        mode: Mode = Mode::Both,
    }
}

impl CusumParams {
    /// Validates the settings.
    pub fn check(self) -> Result<CusumValidParams> {
        nonnegative("k", self.k)?;
        if finite("arl0", self.arl0)? <= 1.0 {
            return Err(DriftError::invalid("arl0", self.arl0, "must be > 1"));
        }
        if let Some(h) = self.threshold {
            positive("threshold", h)?;
        }
        if let Some(m) = self.mean {
            finite("mean", m)?;
        }
        if let Some(s) = self.std {
            positive("std", s)?;
        }
        if (self.mean.is_none() || self.std.is_none()) && self.warmup < 2 {
            return Err(DriftError::invalid(
                "warmup",
                self.warmup,
                "must be >= 2 to estimate the mean and deviation",
            ));
        }
        Ok(CusumValidParams(self))
    }
}

impl CusumValidParams {
    /// The decision interval `h` in use: `threshold`, or solved from `arl0`.
    pub fn decision_interval(&self) -> f64 {
        match self.0.threshold {
            Some(h) => h,
            None => {
                let per_side = if self.0.mode == Mode::Both {
                    2.0 * self.0.arl0
                } else {
                    self.0.arl0
                };
                crate::detectors::cusum::siegmund_h(self.0.k, per_side)
            }
        }
    }
}

params! {
    /// Unchecked settings of [`crate::EwmaChart`] (Roberts 1959 EWMA control chart with
    /// time-varying limits; no river counterpart). Mean and deviation as in [`CusumParams`].
    EwmaChartParams => /// Checked settings of [`crate::EwmaChart`].
    EwmaChartValidParams("EwmaChartParams") {
        /// Weight of the newest sample: `Z = lambda x + (1 - lambda) Z`. Default 0.1; in (0, 1].
        lambda: f64 = 0.1,
        /// Limit width `L`: alarm when `|Z - mu| > L sigma sqrt(lambda/(2-lambda)
        /// (1 - (1-lambda)^(2t)))`. Default 3.5 (in-control ARL about 5e3 with known
        /// parameters, Lucas & Saccucci 1990); > 0.
        width: f64 = 3.5,
        /// Warning at this fraction of the limit. Default 0.8; in (0, 1].
        warning_fraction: f64 = 0.8,
        /// Samples after start/reset used only to estimate the mean and deviation. Default 100.
        warmup: u64 = 100,
        /// Known in-control mean (else estimated).
        mean: Option<f64> = None,
        /// Known in-control standard deviation (else estimated).
        std: Option<f64> = None,
        /// Directions watched. Default both.
        mode: Mode = Mode::Both,
    }
}

impl EwmaChartParams {
    /// Validates the settings.
    pub fn check(self) -> Result<EwmaChartValidParams> {
        if !(self.lambda > 0.0 && self.lambda <= 1.0) {
            return Err(DriftError::invalid(
                "lambda",
                self.lambda,
                "must be in (0, 1]",
            ));
        }
        positive("width", self.width)?;
        if !(self.warning_fraction > 0.0 && self.warning_fraction <= 1.0) {
            return Err(DriftError::invalid(
                "warning_fraction",
                self.warning_fraction,
                "must be in (0, 1]",
            ));
        }
        if let Some(m) = self.mean {
            finite("mean", m)?;
        }
        if let Some(s) = self.std {
            positive("std", s)?;
        }
        if (self.mean.is_none() || self.std.is_none()) && self.warmup < 2 {
            return Err(DriftError::invalid(
                "warmup",
                self.warmup,
                "must be >= 2 to estimate the mean and deviation",
            ));
        }
        Ok(EwmaChartValidParams(self))
    }
}

/// How the loss monitor predicts the next loss value (the trend it removes).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Detrend {
    /// An exponentially weighted level (`alpha`): lags a decaying curve, so the normal decrease
    /// gives negative residuals that an upward test ignores; it also follows a jump within a
    /// few `1/alpha` steps, so it only catches large jumps (about 5 sigma at alpha 0.1).
    #[default]
    Ewma,
    /// A Theil–Sen line over the trailing `fit_window` samples, extrapolated one step: follows
    /// the decrease without lag, and stays robust while fewer than 29% of the window are past
    /// a jump.
    TrailingFit,
}

params! {
    /// Unchecked settings of [`crate::LossMonitor`] (kiln's own; no anchor has one).
    LossMonitorParams => /// Checked settings of [`crate::LossMonitor`].
    LossMonitorValidParams("LossMonitorParams") {
        /// Trend model. Default the EWMA level (no false alarm during the decay in the harness,
        /// 2.5-step mean delay on +5 sigma jumps); the trailing fit also catches smaller jumps
        /// but raises more false alarms (see the README's harness table).
        detrend: Detrend = Detrend::Ewma,
        /// EWMA weight of the newest loss. Default 0.1; in (0, 1].
        alpha: f64 = 0.1,
        /// Trailing window of the Theil–Sen fit. Default 30; >= 3.
        fit_window: u64 = 30,
        /// Samples between the fit window and the predicted sample: the fit is extrapolated
        /// `guard + 1` steps, so the first `guard` samples after a jump cannot pull the trend up
        /// and hide it. Default 10 (trailing fit only).
        guard: u64 = 10,
        /// Trailing window of the noise scale: `median |x_t - x_(t-1)| / (0.6745 sqrt 2)`
        /// (robust to the trend and to a jump). Default 100; >= 5.
        scale_window: u64 = 100,
        /// Residuals are clipped to `[-clip, clip]` standard deviations before the CUSUM.
        /// Default 10; > k.
        clip: f64 = 10.0,
        /// CUSUM reference value on the standardized residual. Default 1.0 (tuned to jumps of
        /// 2 sigma and more); >= 0.
        k: f64 = 1.0,
        /// CUSUM decision interval on the standardized residual. Default 10; > 0.
        threshold: f64 = 10.0,
        /// Samples masked after start and after each reset (the trend and scale need data).
        /// Default 50; >= 5.
        warmup: u64 = 50,
        /// At least this many samples between two alarms. Default 100.
        min_gap: u64 = 100,
    }
}

impl LossMonitorParams {
    /// Validates the settings.
    pub fn check(self) -> Result<LossMonitorValidParams> {
        if !(self.alpha > 0.0 && self.alpha <= 1.0) {
            return Err(DriftError::invalid(
                "alpha",
                self.alpha,
                "must be in (0, 1]",
            ));
        }
        at_least("fit_window", self.fit_window, 3)?;
        at_least("scale_window", self.scale_window, 5)?;
        at_least("warmup", self.warmup, 5)?;
        nonnegative("k", self.k)?;
        positive("threshold", self.threshold)?;
        if finite("clip", self.clip)? <= self.k {
            return Err(DriftError::invalid("clip", self.clip, "must be > k"));
        }
        for (name, v) in [
            ("fit_window", self.fit_window),
            ("scale_window", self.scale_window),
            ("guard", self.guard),
        ] {
            if v > 1 << 20 {
                return Err(DriftError::invalid(name, v, "must be <= 2^20"));
            }
        }
        Ok(LossMonitorValidParams(self))
    }
}
