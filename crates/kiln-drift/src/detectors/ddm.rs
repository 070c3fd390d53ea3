//! DDM (Gama et al. 2004), exactly river's `drift.binary.DDM`.

use serde::{Deserialize, Serialize};

use crate::errors::Result;
use crate::hyperparams::DdmValidParams;
use crate::signal::{Detector, Signal, check_unit};
use crate::stats::Mean;

/// Drift Detection Method on an error stream (1 = error): with `p` the running error rate and
/// `s = sqrt(p (1 - p) / n)`, remembers the minimum of `p + s`; warning when
/// `p + s > p_min + 2 s_min`, drift when `> p_min + 3 s_min`. Accepts values in `[0, 1]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Ddm {
    params: DdmValidParams,
    p: Mean,
    p_min: f64,
    s_min: f64,
    ps_min: f64,
    warning: bool,
    drift: bool,
    seen: u64,
}

impl Ddm {
    /// A detector with these settings.
    pub fn new(params: DdmValidParams) -> Self {
        Self {
            params,
            p: Mean::default(),
            // river starts `ps_min` at +inf (p_min/s_min unset); f64::MAX orders the same against
            // finite values and survives JSON, and the first test after warm-up sets all three.
            p_min: 0.0,
            s_min: 0.0,
            ps_min: f64::MAX,
            warning: false,
            drift: false,
            seen: 0,
        }
    }
}

impl Detector for Ddm {
    fn update(&mut self, x: f64) -> Result<Signal> {
        check_unit("ddm", self.seen, x)?;
        if self.drift {
            let seen = self.seen;
            *self = Self::new(self.params.clone());
            self.seen = seen;
        }
        self.seen += 1;
        self.p.update(x);
        let p_i = self.p.mean;
        let n = self.p.n;
        let s_i = (p_i * (1.0 - p_i) / n).sqrt();
        if n > self.params.warm_start() as f64 {
            if p_i + s_i <= self.ps_min {
                self.p_min = p_i;
                self.s_min = s_i;
                self.ps_min = self.p_min + self.s_min;
            }
            self.warning = p_i + s_i > self.p_min + self.params.warning_threshold() * self.s_min;
            if p_i + s_i > self.p_min + self.params.drift_threshold() * self.s_min {
                self.drift = true;
                self.warning = false;
            }
        }
        Ok(signal(self.drift, self.warning))
    }
    fn reset(&mut self) {
        *self = Self::new(self.params.clone());
    }
    fn name(&self) -> &'static str {
        "ddm"
    }
}

pub(crate) fn signal(drift: bool, warning: bool) -> Signal {
    if drift {
        Signal::Drift
    } else if warning {
        Signal::Warning
    } else {
        Signal::None
    }
}
