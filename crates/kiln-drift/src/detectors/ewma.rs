//! EWMA control chart (Roberts 1959) with time-varying limits.

use serde::{Deserialize, Serialize};

use crate::errors::Result;
use crate::hyperparams::EwmaChartValidParams;
use crate::signal::{Detector, Signal, check_finite};

use super::cusum::Standardizer;

/// `Z_t = lambda z_t + (1 - lambda) Z_(t-1)` on standardized samples, `Z_0 = 0`; drift when
/// `|Z_t|` (per `mode`) exceeds `L sqrt(lambda/(2-lambda) (1-(1-lambda)^(2t)))`, warning past
/// `warning_fraction` of it. Mean and std as for [`crate::Cusum`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EwmaChart {
    params: EwmaChartValidParams,
    std: Standardizer,
    n: u64,
    t: u64,
    z: f64,
    decay: f64,
    drift: bool,
    seen: u64,
}

impl EwmaChart {
    /// A chart with these settings.
    pub fn new(params: EwmaChartValidParams) -> Self {
        let std = Standardizer::new(params.mean(), params.std());
        Self {
            params,
            std,
            n: 0,
            t: 0,
            z: 0.0,
            decay: 1.0,
            drift: false,
            seen: 0,
        }
    }
    /// The current EWMA statistic (standardized units).
    pub fn statistic(&self) -> f64 {
        self.z
    }
}

impl Detector for EwmaChart {
    fn update(&mut self, x: f64) -> Result<Signal> {
        check_finite("ewma", self.seen, x)?;
        if self.drift {
            let seen = self.seen;
            *self = Self::new(self.params.clone());
            self.seen = seen;
        }
        self.seen += 1;
        self.n += 1;
        if self.n <= self.params.warmup() {
            self.std.est.update(x);
            return Ok(Signal::None);
        }
        let z = self.std.z(x);
        self.std.est.update(x);
        let l = self.params.lambda();
        self.t += 1;
        self.z = l * z + (1.0 - l) * self.z;
        let q = (1.0 - l) * (1.0 - l);
        self.decay *= q;
        let limit = self.params.width() * (l / (2.0 - l) * (1.0 - self.decay)).sqrt();
        let mode = self.params.mode();
        let beyond = |lim: f64| (mode.up() && self.z > lim) || (mode.down() && -self.z > lim);
        if beyond(limit) {
            self.drift = true;
            return Ok(Signal::Drift);
        }
        Ok(if beyond(self.params.warning_fraction() * limit) {
            Signal::Warning
        } else {
            Signal::None
        })
    }
    fn reset(&mut self) {
        *self = Self::new(self.params.clone());
    }
    fn name(&self) -> &'static str {
        "ewma"
    }
}
