//! Tabular CUSUM (Page 1954) on standardized samples, with a decision interval solved from a
//! target in-control average run length.

use serde::{Deserialize, Serialize};

use crate::errors::Result;
use crate::hyperparams::CusumValidParams;
use crate::signal::{Detector, Signal, check_finite};
use crate::stats::Var;

/// Siegmund's approximation of the one-sided in-control ARL,
/// `(exp(2 k b) - 2 k b - 1) / (2 k^2)` with `b = h + 1.166` (`b^2` when `k = 0`).
pub(crate) fn siegmund_arl(k: f64, h: f64) -> f64 {
    let b = h + 1.166;
    if k == 0.0 {
        return b * b;
    }
    let a = 2.0 * k * b;
    (a.exp() - a - 1.0) / (2.0 * k * k)
}

/// The `h` whose Siegmund ARL is `arl` (bisection; the ARL grows with `h`).
pub(crate) fn siegmund_h(k: f64, arl: f64) -> f64 {
    let (mut lo, mut hi) = (0.0_f64, 1.0_f64);
    while siegmund_arl(k, hi) < arl && hi < 1e6 {
        hi *= 2.0;
    }
    for _ in 0..200 {
        let mid = 0.5 * (lo + hi);
        if siegmund_arl(k, mid) < arl {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    hi
}

/// Standardizes `x` against a known or running (mean, std); shared with the EWMA chart.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub(crate) struct Standardizer {
    known_mean: Option<f64>,
    known_std: Option<f64>,
    pub(crate) est: Var,
}

impl Standardizer {
    pub(crate) fn new(mean: Option<f64>, std: Option<f64>) -> Self {
        Self {
            known_mean: mean,
            known_std: std,
            est: Var::default(),
        }
    }
    pub(crate) fn mean(&self) -> f64 {
        self.known_mean.unwrap_or(self.est.mean.mean)
    }
    pub(crate) fn std(&self) -> f64 {
        self.known_std.unwrap_or_else(|| self.est.get().sqrt())
    }
    /// `(x - mean) / std` with the estimates before `x`; a deviation from a zero-variance past
    /// is reported as +-1e9 (certainly significant, still finite).
    pub(crate) fn z(&self, x: f64) -> f64 {
        let (m, s) = (self.mean(), self.std());
        if s > 0.0 {
            ((x - m) / s).clamp(-1e9, 1e9)
        } else if x == m {
            0.0
        } else {
            1e9_f64.copysign(x - m)
        }
    }
}

/// Two one-sided CUSUMs on `z = (x - mean)/std`: `S+ = max(0, S+ + z - k)`,
/// `S- = max(0, S- - z - k)`; drift when either (per `mode`) exceeds `h`. The mean and std are
/// the known ones or running estimates (all samples since the last restart; the first `warmup`
/// samples only feed the estimates). Warning when a side passes `h/2`. The estimated change
/// point is the first sample of the current excursion of the side that fired.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Cusum {
    params: CusumValidParams,
    h: f64,
    std: Standardizer,
    n: u64,
    up: f64,
    down: f64,
    up_start: u64,
    down_start: u64,
    change_point: Option<u64>,
    drift: bool,
    seen: u64,
}

impl Cusum {
    /// A detector with these settings.
    pub fn new(params: CusumValidParams) -> Self {
        let h = params.decision_interval();
        let std = Standardizer::new(params.mean(), params.std());
        Self {
            params,
            h,
            std,
            n: 0,
            up: 0.0,
            down: 0.0,
            up_start: 0,
            down_start: 0,
            change_point: None,
            drift: false,
            seen: 0,
        }
    }
    /// The decision interval `h` in standard deviations.
    pub fn decision_interval(&self) -> f64 {
        self.h
    }
    /// Estimated change point (0-based index since construction) of the last drift.
    pub fn change_point(&self) -> Option<u64> {
        self.change_point
    }
}

impl Detector for Cusum {
    fn update(&mut self, x: f64) -> Result<Signal> {
        check_finite("cusum", self.seen, x)?;
        if self.drift {
            let (seen, cp) = (self.seen, self.change_point);
            *self = Self::new(self.params.clone());
            self.seen = seen;
            self.change_point = cp;
        }
        let t = self.seen;
        self.seen += 1;
        self.n += 1;
        if self.n <= self.params.warmup() {
            self.std.est.update(x);
            return Ok(Signal::None);
        }
        let z = self.std.z(x);
        self.std.est.update(x);
        let k = self.params.k();
        if self.up == 0.0 {
            self.up_start = t;
        }
        if self.down == 0.0 {
            self.down_start = t;
        }
        self.up = (self.up + z - k).max(0.0);
        self.down = (self.down - z - k).max(0.0);
        let mode = self.params.mode();
        let up = mode.up() && self.up > self.h;
        let down = mode.down() && self.down > self.h;
        if up || down {
            self.drift = true;
            self.change_point = Some(if up { self.up_start } else { self.down_start });
            return Ok(Signal::Drift);
        }
        let half = 0.5 * self.h;
        let warn = (mode.up() && self.up > half) || (mode.down() && self.down > half);
        Ok(if warn { Signal::Warning } else { Signal::None })
    }
    fn reset(&mut self) {
        *self = Self::new(self.params.clone());
    }
    fn name(&self) -> &'static str {
        "cusum"
    }
}
