//! EDDM (Baena-García et al. 2006), exactly river's `drift.binary.EDDM`.

use serde::{Deserialize, Serialize};

use crate::errors::{DriftError, Result};
use crate::hyperparams::EddmValidParams;
use crate::signal::{Detector, Signal, check_finite};
use crate::stats::Var;

use super::ddm::signal;

/// Early Drift Detection Method: watches the distance (in samples) between errors; with `p'`
/// and `s'` its running mean and deviation, remembers the maximum of `p' + 2 s'`; warning when
/// the ratio to that maximum falls below `alpha`, drift below `beta`. Accepts exactly 0 or 1.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Eddm {
    params: EddmValidParams,
    distances: Var,
    n: u64,
    last_error: u64,
    n_errors: u64,
    p2s_max: f64,
    warning: bool,
    drift: bool,
    seen: u64,
}

impl Eddm {
    /// A detector with these settings.
    pub fn new(params: EddmValidParams) -> Self {
        Self {
            params,
            distances: Var::default(),
            n: 0,
            last_error: 0,
            n_errors: 0,
            p2s_max: -1.0,
            warning: false,
            drift: false,
            seen: 0,
        }
    }
}

impl Detector for Eddm {
    fn update(&mut self, x: f64) -> Result<Signal> {
        check_finite("eddm", self.seen, x)?;
        if x != 0.0 && x != 1.0 {
            return Err(DriftError::NotBinary {
                detector: "eddm",
                index: self.seen,
                value: x,
                accepted: "0 or 1",
            });
        }
        if self.drift {
            let seen = self.seen;
            *self = Self::new(self.params.clone());
            self.seen = seen;
        }
        self.seen += 1;
        self.n += 1;
        if x == 1.0 {
            self.n_errors += 1;
            self.distances.update((self.n - self.last_error) as f64);
            if self.n > self.params.warm_start() {
                let p2s = self.distances.mean.mean + 2.0 * self.distances.get().powf(0.5);
                if p2s > self.p2s_max {
                    self.p2s_max = p2s;
                } else if self.n_errors > self.params.warm_start() {
                    let level = p2s / self.p2s_max;
                    if level < self.params.beta() {
                        self.drift = true;
                    } else {
                        self.warning = level < self.params.alpha();
                    }
                }
            }
            self.last_error = self.n;
        }
        Ok(signal(self.drift, self.warning))
    }
    fn reset(&mut self) {
        *self = Self::new(self.params.clone());
    }
    fn name(&self) -> &'static str {
        "eddm"
    }
}
