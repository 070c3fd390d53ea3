//! River's running statistics, with its exact operation order (parity is bit-for-bit).

use serde::{Deserialize, Serialize};

/// Running mean: `n += 1; mean += 1/n * (x - mean)` (river `stats.Mean`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub(crate) struct Mean {
    pub(crate) n: f64,
    pub(crate) mean: f64,
}

impl Mean {
    #[inline]
    pub(crate) fn update(&mut self, x: f64) {
        self.n += 1.0;
        self.mean += 1.0 / self.n * (x - self.mean);
    }
}

/// Welford variance with `ddof = 1` (river `stats.Var`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub(crate) struct Var {
    pub(crate) mean: Mean,
    s: f64,
}

impl Var {
    #[inline]
    pub(crate) fn update(&mut self, x: f64) {
        let old = self.mean.mean;
        self.mean.update(x);
        self.s += (x - old) * (x - self.mean.mean);
    }
    #[inline]
    pub(crate) fn get(&self) -> f64 {
        if self.mean.n > 1.0 {
            self.s / (self.mean.n - 1.0)
        } else {
            0.0
        }
    }
}

/// Exponentially weighted mean: the first sample is the mean, then
/// `mean = a x + (1 - a) mean` (river `stats.EWMean`).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub(crate) struct EwMean {
    pub(crate) mean: f64,
    alpha: f64,
    one_minus_alpha: f64,
    initialized: bool,
}

impl EwMean {
    pub(crate) fn new(alpha: f64) -> Self {
        Self {
            mean: 0.0,
            alpha,
            one_minus_alpha: 1.0 - alpha,
            initialized: false,
        }
    }
    #[inline]
    pub(crate) fn update(&mut self, x: f64) {
        if self.initialized {
            self.mean = self.alpha * x + self.one_minus_alpha * self.mean;
        } else {
            self.mean = x;
            self.initialized = true;
        }
    }
}
