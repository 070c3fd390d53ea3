//! HDDM_A (Frías-Blanco et al. 2014), exactly river's `drift.binary.HDDM_A`.

use serde::{Deserialize, Serialize};

use crate::errors::Result;
use crate::hyperparams::HddmAValidParams;
use crate::signal::{Detector, Signal, check_unit};
use crate::stats::Mean;

use super::ddm::signal;

/// Hoeffding drift detection on averages: keeps the prefix whose mean plus Hoeffding bound is
/// smallest (largest, two-sided) and tests the running mean against it with the bound
/// `sqrt(m/2 ln(2/confidence))`, `m = (n - n_cut)/(n_cut n)`. Accepts values in `[0, 1]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HddmA {
    params: HddmAValidParams,
    z: Mean,
    x_min: Mean,
    x_max: Mean,
    warning: bool,
    drift: bool,
    seen: u64,
}

impl HddmA {
    /// A detector with these settings.
    pub fn new(params: HddmAValidParams) -> Self {
        Self {
            params,
            z: Mean::default(),
            x_min: Mean::default(),
            x_max: Mean::default(),
            warning: false,
            drift: false,
            seen: 0,
        }
    }
    fn hoeffding(&self, n: f64) -> f64 {
        (1.0 / (2.0 * n) * (1.0 / self.params.drift_confidence()).ln()).sqrt()
    }
    fn differs(cut: &Mean, z: &Mean, confidence: f64) -> Option<f64> {
        if cut.n == z.n {
            return None;
        }
        let m = (z.n - cut.n) / cut.n * (1.0 / z.n);
        Some((m / 2.0 * (2.0 / confidence).ln()).sqrt())
    }
    fn mean_incr(&self, confidence: f64) -> bool {
        Self::differs(&self.x_min, &self.z, confidence)
            .is_some_and(|eps| self.z.mean - self.x_min.mean >= eps)
    }
    fn mean_decr(&self, confidence: f64) -> bool {
        Self::differs(&self.x_max, &self.z, confidence)
            .is_some_and(|eps| self.x_max.mean - self.z.mean >= eps)
    }
}

impl Detector for HddmA {
    fn update(&mut self, x: f64) -> Result<Signal> {
        check_unit("hddm-a", self.seen, x)?;
        if self.drift {
            let seen = self.seen;
            *self = Self::new(self.params.clone());
            self.seen = seen;
        }
        self.seen += 1;
        self.z.update(x);
        if self.x_min.n == 0.0 {
            self.x_min = self.z;
        }
        if self.x_max.n == 0.0 {
            self.x_max = self.z;
        }
        let eps_z = self.hoeffding(self.z.n);
        if self.x_min.mean + self.hoeffding(self.x_min.n) >= self.z.mean + eps_z {
            self.x_min = self.z;
        }
        if self.x_max.mean - self.hoeffding(self.x_max.n) <= self.z.mean - eps_z {
            self.x_max = self.z;
        }
        let (drift_c, warn_c) = (
            self.params.drift_confidence(),
            self.params.warning_confidence(),
        );
        (self.drift, self.warning) = if self.mean_incr(drift_c) {
            (true, false)
        } else {
            (false, self.mean_incr(warn_c))
        };
        if self.params.two_sided_test() {
            if self.mean_decr(drift_c) {
                self.drift = true;
            } else if self.mean_decr(warn_c) {
                self.warning = true;
            }
        }
        Ok(signal(self.drift, self.warning))
    }
    fn reset(&mut self) {
        *self = Self::new(self.params.clone());
    }
    fn name(&self) -> &'static str {
        "hddm-a"
    }
}
