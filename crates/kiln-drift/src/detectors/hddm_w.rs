//! HDDM_W (Frías-Blanco et al. 2014), exactly river's `drift.binary.HDDM_W`.

use serde::{Deserialize, Serialize};

use crate::errors::Result;
use crate::hyperparams::HddmWValidParams;
use crate::signal::{Detector, Signal, check_unit};
use crate::stats::EwMean;

use super::ddm::signal;

/// An EWMA with its independent-bounded-condition sum `ibc = l^2 + (1-l)^2 ibc`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
struct Sample {
    ewma: EwMean,
    init: bool,
    ibc: f64,
}

impl Sample {
    fn new(lambda: f64) -> Self {
        Self {
            ewma: EwMean::new(lambda),
            init: false,
            ibc: 1.0,
        }
    }
    fn update(&mut self, x: f64, lambda: f64) {
        self.ewma.update(x);
        self.init = true;
        let c = 1.0 - lambda;
        self.ibc = lambda * lambda + c * c * self.ibc;
    }
}

/// Hoeffding drift detection on weighted (EWMA) averages with McDiarmid's bound
/// `sqrt(ibc ln(1/confidence) / 2)`. Accepts values in `[0, 1]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HddmW {
    params: HddmWValidParams,
    total: Sample,
    s1_decr: Sample,
    s1_incr: Sample,
    s2_decr: Sample,
    s2_incr: Sample,
    incr_cut: f64,
    decr_cut: f64,
    warning: bool,
    drift: bool,
    seen: u64,
}

fn mcdiarmid(ibc: f64, confidence: f64) -> f64 {
    (ibc * (1.0 / confidence).ln() / 2.0).sqrt()
}

/// Whether `later`'s EWMA exceeds `earlier`'s by more than the bound.
fn changed(earlier: &Sample, later: &Sample, confidence: f64) -> bool {
    earlier.init
        && later.init
        && later.ewma.mean - earlier.ewma.mean > mcdiarmid(earlier.ibc + later.ibc, confidence)
}

impl HddmW {
    /// A detector with these settings.
    pub fn new(params: HddmWValidParams) -> Self {
        let s = Sample::new(params.lambda());
        Self {
            params,
            total: s,
            s1_decr: s,
            s1_incr: s,
            s2_decr: s,
            s2_incr: s,
            // river's +-inf; +-f64::MAX order the same against finite values and survive JSON.
            incr_cut: f64::MAX,
            decr_cut: f64::MIN,
            warning: false,
            drift: false,
            seen: 0,
        }
    }
}

impl Detector for HddmW {
    fn update(&mut self, x: f64) -> Result<Signal> {
        check_unit("hddm-w", self.seen, x)?;
        if self.drift {
            let seen = self.seen;
            *self = Self::new(self.params.clone());
            self.seen = seen;
        }
        self.seen += 1;
        let lambda = self.params.lambda();
        let (drift_c, warn_c) = (
            self.params.drift_confidence(),
            self.params.warning_confidence(),
        );
        self.total.update(x, lambda);

        let eps = mcdiarmid(self.total.ibc, drift_c);
        if self.total.ewma.mean + eps < self.incr_cut {
            self.incr_cut = self.total.ewma.mean + eps;
            self.s1_incr = self.total;
            self.s2_incr = Sample::new(lambda);
        } else {
            self.s2_incr.update(x, lambda);
        }
        (self.drift, self.warning) = if changed(&self.s1_incr, &self.s2_incr, drift_c) {
            (true, false)
        } else {
            (false, changed(&self.s1_incr, &self.s2_incr, warn_c))
        };

        let eps = mcdiarmid(self.total.ibc, drift_c);
        if self.total.ewma.mean - eps > self.decr_cut {
            self.decr_cut = self.total.ewma.mean - eps;
            self.s1_decr = self.total;
            self.s2_decr = Sample::new(lambda);
        } else {
            self.s2_decr.update(x, lambda);
        }
        if self.params.two_sided_test() {
            if changed(&self.s2_decr, &self.s1_decr, drift_c) {
                self.drift = true;
            } else if changed(&self.s2_decr, &self.s1_decr, warn_c) {
                self.warning = true;
            }
        }
        Ok(signal(self.drift, self.warning))
    }
    fn reset(&mut self) {
        *self = Self::new(self.params.clone());
    }
    fn name(&self) -> &'static str {
        "hddm-w"
    }
}
