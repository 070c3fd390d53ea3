//! Page-Hinkley, river's variant (fading cumulative sums, running mean including the sample).

use serde::{Deserialize, Serialize};

use crate::errors::Result;
use crate::hyperparams::PageHinkleyValidParams;
use crate::signal::{Detector, Signal, check_finite};
use crate::stats::Mean;

/// Page-Hinkley test: `S_up = alpha S_up + (x - mean) - delta` against its running minimum and
/// `S_down = alpha S_down + (x - mean) + delta` against its running maximum; drift when either
/// gap (per `mode`) exceeds `threshold`. Exactly river's `drift.PageHinkley`, including its
/// initial running maximum of -1.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PageHinkley {
    params: PageHinkleyValidParams,
    mean: Mean,
    sum_up: f64,
    sum_down: f64,
    min_up: f64,
    max_down: f64,
    drift: bool,
    seen: u64,
}

impl PageHinkley {
    /// A detector with these settings.
    pub fn new(params: PageHinkleyValidParams) -> Self {
        Self {
            params,
            mean: Mean::default(),
            sum_up: 0.0,
            sum_down: 0.0,
            // river starts at +inf; f64::MAX orders the same against finite sums and survives
            // JSON.
            min_up: f64::MAX,
            max_down: -1.0,
            drift: false,
            seen: 0,
        }
    }
    fn restart(&mut self) {
        let seen = self.seen;
        *self = Self::new(self.params.clone());
        self.seen = seen;
    }
}

impl Detector for PageHinkley {
    fn update(&mut self, x: f64) -> Result<Signal> {
        check_finite("page-hinkley", self.seen, x)?;
        if self.drift {
            self.restart();
        }
        self.seen += 1;
        let p = &self.params;
        self.mean.update(x);
        let dev = x - self.mean.mean;
        self.sum_up = p.alpha() * self.sum_up + dev - p.delta();
        self.sum_down = p.alpha() * self.sum_down + dev + p.delta();
        if self.sum_up < self.min_up {
            self.min_up = self.sum_up;
        }
        if self.sum_down > self.max_down {
            self.max_down = self.sum_down;
        }
        if self.mean.n >= p.min_instances() as f64 {
            let up = self.sum_up - self.min_up;
            let down = self.max_down - self.sum_down;
            let mode = p.mode();
            self.drift = (mode.up() && up > p.threshold()) || (mode.down() && down > p.threshold());
        }
        Ok(if self.drift {
            Signal::Drift
        } else {
            Signal::None
        })
    }
    fn reset(&mut self) {
        *self = Self::new(self.params.clone());
    }
    fn name(&self) -> &'static str {
        "page-hinkley"
    }
}
